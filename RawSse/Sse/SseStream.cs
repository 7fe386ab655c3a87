using RawSse.Http;

namespace RawSse.Sse;

/// <summary>
/// An SSE response as its connection holds it: the subscriber, its place in the hub, and its address lease. The hub
/// subscription and the lease are released together, once, when the connection disposes the stream.
/// </summary>
internal sealed class SseStream(Hub hub, Subscriber subscriber, string? lastEventId, byte[] head, StreamLease lease) : IResponseStream
{
    private byte[]? _head = head;
    private string? _lastEventId = lastEventId;

    public Subscriber Subscriber { get; } = subscriber;

    /// <summary>
    /// The head is queued first, so nothing can come before it; the subscriber joins the hub (which queues a replay
    /// behind the head), and only then is the head sent: a client that has the head is subscribed.
    /// </summary>
    public void Start()
    {
        bool due = Subscriber.EnqueueExempt([_head!]);
        hub.Subscribe(Subscriber, _lastEventId);
        if (due)
        {
            Subscriber.Flush();
        }

        _head = null;
        _lastEventId = null;
    }

    public void CheckTimeouts(long now, in ConnectionTimeouts timeouts) => Subscriber.CheckTimeouts(now, timeouts.HeartbeatMs, timeouts.WriteMs);

    public Task EndAsync() => Subscriber.CompleteAsync();

    public Task StopAsync() => Subscriber.StopAsync();

    public string Describe() => $"topics={string.Join(',', Subscriber.Topics)}; subscribers={hub.SubscriberCount}";

    public void Dispose()
    {
        hub.Unsubscribe(Subscriber);
        lease.Dispose();
    }
}
