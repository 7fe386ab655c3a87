namespace RawSse.Http;

/// <summary>
/// An endless response a handler left the connection with (an SSE stream). The connection owns its lifetime: it
/// applies the sweep's timeouts through <see cref="CheckTimeouts"/>, asks it to end on a graceful stop, and disposes
/// it (releasing what it holds, such as its hub subscription) when the connection closes.
/// </summary>
internal interface IResponseStream : IDisposable
{
    /// <summary>Called once the connection has handed over its send side: sends the head and joins the stream's source.</summary>
    void Start();

    /// <summary>Called by the shared sweep: heartbeats on a quiet stream, and the write timeout on a stalled one.</summary>
    void CheckTimeouts(long now, in ConnectionTimeouts timeouts);

    /// <summary>Ends the response cleanly: what is queued is still sent, then the client reads the end of it.</summary>
    Task EndAsync();

    /// <summary>Stops sending; completes once no send is in flight, so the socket can close without a reset.</summary>
    Task StopAsync();

    /// <summary>What the stream is, for logs.</summary>
    string Describe();
}
