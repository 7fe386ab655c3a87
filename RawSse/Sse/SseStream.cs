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

    /// <summary>The head is the stream's first frame, sent before the subscriber joins, so nothing can come before it.</summary>
    public void Start()
    {
        Subscriber.SendHead(_head!);
        hub.Subscribe(Subscriber, _lastEventId);
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
