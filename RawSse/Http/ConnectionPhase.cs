namespace RawSse.Http;

/// <summary>
/// What a connection is waiting for, which decides the timeout the shared sweep applies to it. Reading: a request has
/// begun (or the connection is new) and is not complete: the request timeout. Idle: between keep-alive requests: the
/// keep-alive timeout. Responding: a flush is in flight: the write timeout. Streaming: the stream applies its own.
/// Lingering: after a final answer, on its own timer.
/// </summary>
internal enum ConnectionPhase
{
    Reading,
    Idle,
    Responding,
    Streaming,
    Lingering,
}
