using System.Buffers;
using System.Runtime.CompilerServices;
using RawSse.Auth;
using RawSse.Http;
using RawSse.Transport;

namespace RawSse.Sse;

/// <summary>
/// One SSE stream's outgoing side: a bounded queue of encoded frames (shared byte arrays, never copied per subscriber
/// until the write), the slow-consumer policy, and a writer that runs only while there is something to send. An idle
/// subscriber holds no task, no timer and no buffer. Queued frames are coalesced into one write. The writer sends
/// without waiting for as long as the sink takes the bytes, which is almost always: no task, no thread-pool hop, one
/// system call per delivery. Only a full socket continues with an asynchronous send, and the queue's limits apply
/// while it catches up. When the stream cannot go on (a failed or stalled send, a full queue under the disconnect
/// policy) the subscriber completes its sink with the reason; it never closes anything itself, and never while a lock
/// is held.
/// </summary>
internal sealed class Subscriber : IThreadPoolWorkItem, IResponseStream
{
    private const int CoalesceBytes = 16 * 1024;

    private readonly IStreamSink _sink;
    private readonly SubscriberLimits _limits;
    private readonly Hub _hub;
    private readonly StreamLease _lease;

    // Everything marked "guarded" is guarded by this object's monitor (nothing outside this class locks a subscriber):
    // a monitor costs nothing until contended, where a Lock object would cost 40 bytes a stream.
    private FrameQueue _queue;           // guarded
    private WriterState _writer;         // guarded

    private long _writeStartedAt;        // Environment.TickCount64 while an asynchronous send is in flight, else 0
    private long _lastWriteAt;           // Environment.TickCount64 of the last completed send
    private readonly TokenClaims? _claims;
    private readonly long _expiresAt;    // Environment.TickCount64 when the token expires, or 0
    private int _expired;

    /// <param name="lease">The stream's place under its address's cap, given back with the hub subscription on <see cref="Dispose"/>.</param>
    public Subscriber(IStreamSink sink, IReadOnlyList<string> topics, SubscriberLimits limits, Hub hub, StreamLease? lease = null)
    {
        _sink = sink;
        Topics = topics;
        _limits = limits;
        _hub = hub;
        _lease = lease ?? StreamLease.None;
        _lastWriteAt = Environment.TickCount64;
    }

    /// <summary>The exact topics, in the order asked for; the hub swaps in its shared list for a single topic.</summary>
    public IReadOnlyList<string> Topics { get; internal set; }

    /// <summary>The selectors that are templates or <c>*</c>, matched against every event's topics.</summary>
    public IReadOnlyList<TopicSelector> Patterns { get; init; } = [];

    /// <summary>
    /// What the stream's token grants (null: anonymous, public updates only). A token with an <c>exp</c> ends the
    /// stream once it has passed: the sweep checks it, so no timer is held.
    /// </summary>
    public TokenClaims? Claims
    {
        get => _claims;
        init
        {
            _claims = value;
            if (value?.Expires is { } expires)
            {
                long left = (long)Math.Clamp((expires - DateTimeOffset.UtcNow).TotalMilliseconds, 0, long.MaxValue / 4);
                _expiresAt = Environment.TickCount64 + left;
            }
        }
    }

    /// <summary>The subscriber's id in Mercure's active subscriptions (<c>urn:uuid:</c>), or null when the hub shows none.</summary>
    internal string? SubscriptionId { get; set; }

    /// <summary>One <see cref="ActiveSubscription"/> per selector asked for.</summary>
    internal IEnumerable<ActiveSubscription> Subscriptions(bool active)
    {
        var id = SubscriptionId!;
        var payload = _claims?.Payload;
        return Topics.Concat(Patterns.Select(p => p.Text)).Select(selector => new ActiveSubscription(selector, id, payload, active));
    }

    /// <summary>The hub's groups for <see cref="Patterns"/>; guarded by the hub's lock.</summary>
    internal SelectorGroup[] Groups { get; set; } = [];

    /// <summary>The hub's grant for the token's <c>mercure.subscribe</c> claim, or null; guarded by the hub's lock.</summary>
    internal SubscribeGrant? Grant { get; set; }

    /// <summary>The sequence of the last event handed to this subscriber; guarded by the hub's lock.</summary>
    internal long LastSequence { get; set; }

    /// <summary>Whether the hub holds this subscriber; guarded by the hub's lock.</summary>
    internal bool Subscribed { get; set; }

    /// <summary>The queue's limits (a resume from the log holds at most a few queues' worth of frames).</summary>
    internal SubscriberLimits Limits => _limits;

    public long LastWriteAt => Volatile.Read(ref _lastWriteAt);

    /// <summary>
    /// Queues a frame. Never blocks and never sends (the hub calls this under its lock). <see cref="EnqueueResult.MustFlush"/>
    /// means this call made the writer due: the caller then calls <see cref="Flush"/> (or <see cref="ScheduleFlush"/>)
    /// once, outside its lock. <see cref="EnqueueResult.Cut"/> means the queue was full under the disconnect policy: the
    /// caller calls <see cref="ReportCut"/> once, outside its lock. <paramref name="publishedAt"/> is when the hub
    /// accepted the frame's event (<see cref="QueuedFrame.PublishedAt"/>), or 0 for a frame that is no publish.
    /// </summary>
    public EnqueueResult Enqueue(byte[] frame, long publishedAt = 0)
    {
        lock (this)
        {
            if (_writer.Refuses)
            {
                return EnqueueResult.Refused;
            }

            if (!_queue.TryAdd(frame, publishedAt, _limits, out int dropped))
            {
                _writer.Closed = true; // a writer in flight exits at its next step
                return EnqueueResult.Cut;
            }

            if (dropped > 0)
            {
                _hub.Counters.Dropped(dropped);
            }

            return _writer.TryMakeDue() ? EnqueueResult.MustFlush : EnqueueResult.Queued;
        }
    }

    /// <summary>After <see cref="EnqueueResult.Cut"/>, outside the caller's lock: the sink's owner closes the stream.</summary>
    public void ReportCut() => _sink.Complete(DisconnectReason.SlowConsumer);

    /// <summary>
    /// Queues frames the limits do not count, ahead of any live frame: the response head and a replay, which the ring
    /// already bounds (a resume must not be cut for being a resume). True when the caller must run the writer (once,
    /// outside its lock), as with <see cref="EnqueueResult.MustFlush"/>.
    /// </summary>
    public bool EnqueueExempt(IReadOnlyList<byte[]> frames)
    {
        lock (this)
        {
            if (frames.Count == 0 || _writer.Refuses)
            {
                return false;
            }

            foreach (var frame in frames)
            {
                _queue.Enqueue(frame, exempt: true);
            }

            return _writer.TryMakeDue();
        }
    }

    /// <summary>
    /// Called by the connection's sweep: a send in flight for longer than <paramref name="writeTimeoutMs"/> completes
    /// the stream as stalled; a stream quiet for <paramref name="heartbeatMs"/> (0: never) gets a comment line.
    /// </summary>
    public void CheckTimeouts(long now, long heartbeatMs, long writeTimeoutMs)
    {
        long started = Volatile.Read(ref _writeStartedAt);
        bool expired = _expiresAt != 0 && now >= _expiresAt;
        if (expired && Interlocked.Exchange(ref _expired, 1) == 0)
        {
            _ = ExpireAsync();
        }

        // An expired stream still drains what it has queued, so the stall check goes on applying to it.
        if (started != 0 && now - started > writeTimeoutMs)
        {
            _sink.Complete(DisconnectReason.WriteTimeout);
        }
        else if (!expired && heartbeatMs > 0 && now - LastWriteAt >= heartbeatMs && IsIdle)
        {
            var result = Enqueue(SseFrames.HeartbeatFrame);
            if (result == EnqueueResult.MustFlush)
            {
                ScheduleFlush();
            }
            else if (result == EnqueueResult.Cut)
            {
                ReportCut(); // a publish filled the queue meanwhile
            }
        }
    }

    // True when nothing is queued or being sent.
    private bool IsIdle
    {
        get { lock (this) { return !_writer.Writing && _queue.Count == 0; } }
    }

    /// <summary>
    /// Ends the stream cleanly: what is queued is still sent, then the sink is ended (FIN), so the client sees the end
    /// of the response rather than a reset. Completes when that is done or the stream failed.
    /// </summary>
    public Task CompleteAsync()
    {
        lock (this)
        {
            if (_writer.Closed)
            {
                return Task.CompletedTask; // the stream already failed or was stopped
            }

            if (!_writer.Completing)
            {
                _writer.Completing = true;
                if (_writer.TryMakeDue())
                {
                    ScheduleFlush();
                }
            }

            return _writer.WhenExited();
        }
    }

    // Mercure: the hub closes a subscriber's connection when its token expires. What is queued still goes out, then
    // the stream ends; the browser's reconnect, with the same token, gets 401.
    private async Task ExpireAsync()
    {
        await CompleteAsync().ConfigureAwait(false);
        _sink.Complete(DisconnectReason.TokenExpired);
    }

    /// <summary>
    /// Stops the writer: nothing more is queued or sent. Completes once no send is in flight, so the socket can then
    /// be closed gracefully (closing it under a pending send would reset the connection).
    /// </summary>
    public Task StopAsync()
    {
        lock (this)
        {
            _writer.Closed = true;
            _queue.Clear();
            return _writer.Writing ? _writer.WhenExited() : Task.CompletedTask;
        }
    }

    /// <summary>Runs <see cref="Flush"/> on the thread pool, for callers that must not do the sending themselves.</summary>
    public void ScheduleFlush() => ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);

    void IThreadPoolWorkItem.Execute() => Flush();

    /// <summary>
    /// The writer, run by whoever made it due (see <see cref="Enqueue"/>): sends the queue without waiting, on the
    /// calling thread. When the sink cannot take everything at once, the rest and whatever is queued after it go out
    /// asynchronously, and this returns.
    /// </summary>
    public void Flush()
    {
        byte[]? batch = null;
        try
        {
            while (TryTakeNext(ref batch, out var payload, out long publishedAt))
            {
                int sent = _sink.TrySend(payload.Span);
                if (sent == payload.Length)
                {
                    Sent(publishedAt);
                    continue;
                }

                if (sent < 0)
                {
                    Fail();
                    return;
                }

                // The socket's buffer is full: the asynchronous writer takes over the rest (and the batch buffer).
                _ = WriteLoopAsync(payload[sent..], publishedAt, batch);
                batch = null;
                return;
            }
        }
        finally
        {
            ReturnBatch(batch);
        }
    }

    // Sends `pending`, then the rest of the queue, awaiting each send; the sweep's write timeout watches it.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask WriteLoopAsync(ReadOnlyMemory<byte> pending, long publishedAt, byte[]? batch)
    {
        try
        {
            var payload = pending;
            do
            {
                Volatile.Write(ref _writeStartedAt, Environment.TickCount64);
                bool sent = await _sink.SendAsync(payload).ConfigureAwait(false);
                Volatile.Write(ref _writeStartedAt, 0);
                if (!sent)
                {
                    Fail();
                    return;
                }

                Sent(publishedAt);
            }
            while (TryTakeNext(ref batch, out payload, out publishedAt));
        }
        finally
        {
            ReturnBatch(batch);
        }
    }

    // The next payload, or false when the writer is done: closed, nothing left, or a completing stream drained, which
    // is then half-closed so the client reads a clean end of stream.
    private bool TryTakeNext(ref byte[]? batch, out ReadOnlyMemory<byte> payload, out long publishedAt)
    {
        payload = default;
        publishedAt = 0;
        lock (this)
        {
            if (!_writer.Closed && _queue.Count > 0)
            {
                payload = _queue.TakeBatch(ref batch, CoalesceBytes, out publishedAt);
                return true;
            }

            if (_writer.Closed || !_writer.Completing)
            {
                _writer.Exited();
                return false;
            }
        }

        _sink.EndStream();
        lock (this)
        {
            _writer.Exited();
        }

        return false;
    }

    // A send completed. The delivery delay is recorded once per send, for the oldest event it carried: the worst
    // delay of that send, at the cost of one histogram sample per system call rather than one per frame (a coalesced
    // send of many frames under load stays one sample).
    private void Sent(long publishedAt)
    {
        Volatile.Write(ref _lastWriteAt, Environment.TickCount64);
        if (publishedAt != 0)
        {
            _hub.Counters.DeliveryDelay.RecordSince(publishedAt);
        }
    }

    private void Fail()
    {
        lock (this)
        {
            _writer.Closed = true;
            _writer.Exited();
            _queue.Clear();
        }

        _sink.Complete(DisconnectReason.WriteFailed);
    }

    // As its connection's response: the head queued by the handler (then a replay, then whatever was published since
    // the subscriber joined) goes out once the connection has handed its send side over; disposing it leaves the hub
    // and gives back the address lease, once.
    void IResponseStream.Start() => Flush();

    void IResponseStream.CheckTimeouts(long now, in ConnectionTimeouts timeouts) => CheckTimeouts(now, timeouts.HeartbeatMs, timeouts.WriteMs);

    Task IResponseStream.EndAsync() => CompleteAsync();

    string IResponseStream.Describe() =>
        $"topics={string.Join(',', Topics.Concat(Patterns.Select(p => p.Text)))}; {(_claims is null ? "anonymous" : "token")}; subscribers={_hub.SubscriberCount}";

    public void Dispose()
    {
        _hub.Unsubscribe(this);
        _lease.Dispose();
    }

    private static void ReturnBatch(byte[]? batch)
    {
        if (batch is not null)
        {
            ArrayPool<byte>.Shared.Return(batch);
        }
    }
}
