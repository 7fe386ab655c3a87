namespace RawSse;

/// <summary>The per-phase timeouts the shared sweep applies to every connection, in milliseconds.</summary>
internal readonly record struct ConnectionTimeouts(long RequestMs, long KeepAliveMs, long WriteMs);
