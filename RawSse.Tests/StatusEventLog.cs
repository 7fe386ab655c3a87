using RawSse.Store;

namespace RawSse.Tests;

/// <summary>
/// A <see cref="MemoryEventLog"/> that plays a log shared with other nodes (as NATS JetStream would be): its
/// readiness, lag and reconnects are whatever a test sets, and its append latency whatever a test records.
/// </summary>
internal sealed class StatusEventLog() : DelegatingEventLog(new MemoryEventLog()), IEventLogStatus
{
    private volatile bool _isReady = true;
    private long _lag;
    private long _reconnects;

    public bool IsReady
    {
        get => _isReady;
        set => _isReady = value;
    }

    public long Lag
    {
        get => Volatile.Read(ref _lag);
        set => Volatile.Write(ref _lag, value);
    }

    public long Reconnects
    {
        get => Volatile.Read(ref _reconnects);
        set => Volatile.Write(ref _reconnects, value);
    }

    public LatencyHistogram AppendLatency { get; } = new();
}
