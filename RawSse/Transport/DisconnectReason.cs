namespace RawSse.Transport;

/// <summary>
/// Why a connection ended, whichever layer saw it end: the client (closed, reset), the HTTP exchange (completed), the
/// stream (write failed or stalled, slow consumer, protocol error) or the server (stopping, fault). A fixed set, so it
/// can label a metric. The first reason set on a connection wins.
/// </summary>
internal enum DisconnectReason
{
    /// <summary>The client closed its side (read returned 0).</summary>
    ClientClosed,

    /// <summary>The client reset the connection, or it failed on the read side.</summary>
    ClientReset,

    /// <summary>A send to the client failed.</summary>
    WriteFailed,

    /// <summary>A send stalled past the write timeout (a client that stopped reading).</summary>
    WriteTimeout,

    /// <summary>The subscriber's queue overflowed under the disconnect policy.</summary>
    SlowConsumer,

    /// <summary>The client kept sending on its stream, where nothing is expected (past 64 KiB).</summary>
    ProtocolError,

    /// <summary>The stream's token expired.</summary>
    TokenExpired,

    /// <summary>The server is stopping.</summary>
    ServerStopping,

    /// <summary>A plain HTTP exchange ended (response with Connection: close, or a rejected request).</summary>
    Completed,

    /// <summary>Something unexpected; logged as an error.</summary>
    ServerFault,
}
