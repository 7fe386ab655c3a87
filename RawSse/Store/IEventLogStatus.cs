namespace RawSse.Store;

/// <summary>
/// How this node stands against a log it shares with other nodes (NATS JetStream): whether it may take traffic
/// (<c>/readyz</c>) and the figures <c>/metrics</c> shows. A log of this process alone (memory, SQLite) has none.
/// </summary>
public interface IEventLogStatus
{
    /// <summary>Connected to the store and caught up with it: what a load balancer's health check asks.</summary>
    bool IsReady { get; }

    /// <summary>The store's newest position minus the newest one this node has applied (0 when caught up).</summary>
    long Lag { get; }

    /// <summary>Times the connection to the store was re-established since the log was opened.</summary>
    long Reconnects { get; }

    /// <summary>Time from an append's start to the store's acknowledgement, for every append that was acknowledged.</summary>
    LatencyHistogram AppendLatency { get; }
}
