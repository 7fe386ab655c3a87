using RawSse.Transport;

namespace RawSse.Http;

/// <summary>How a connection goes on after a handler has written its response.</summary>
internal readonly record struct ExchangeResult(ExchangeEnd End, DisconnectReason Reason = DisconnectReason.Completed, IResponseStream? Stream = null)
{
    /// <summary>The response is written; the connection serves the next request if the exchange allows keep-alive.</summary>
    public static ExchangeResult Continue => new(ExchangeEnd.Continue);

    /// <summary>The response is written (or cannot be finished); the connection closes after it.</summary>
    public static ExchangeResult Close(DisconnectReason reason = DisconnectReason.Completed) => new(ExchangeEnd.Close, reason);

    /// <summary>The response goes on without end: the connection becomes <paramref name="stream"/>.</summary>
    public static ExchangeResult Streaming(IResponseStream stream) => new(ExchangeEnd.Stream, Stream: stream);
}
