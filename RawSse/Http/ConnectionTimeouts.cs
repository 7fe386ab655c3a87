namespace RawSse.Http;

/// <summary>
/// What the shared sweep applies to every connection, in milliseconds: the request, keep-alive and write timeouts
/// of the HTTP phases, and for a stream the write timeout and the heartbeat interval (0: no heartbeats).
/// </summary>
internal readonly record struct ConnectionTimeouts(long RequestMs, long KeepAliveMs, long WriteMs, long HeartbeatMs);
