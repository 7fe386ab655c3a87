namespace RawSse.Sse;

/// <summary>Why a connection ended; a fixed set, so it can label a metric.</summary>
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

    /// <summary>The server is stopping.</summary>
    ServerStopping,

    /// <summary>A plain HTTP exchange ended (response with Connection: close, or a rejected request).</summary>
    Completed,

    /// <summary>Something unexpected; logged as an error.</summary>
    ServerFault,
}

internal static class DisconnectReasons
{
    public const int Count = (int)DisconnectReason.ServerFault + 1;

    public static string Label(DisconnectReason reason) => reason switch
    {
        DisconnectReason.ClientClosed => "client_closed",
        DisconnectReason.ClientReset => "client_reset",
        DisconnectReason.WriteFailed => "write_failed",
        DisconnectReason.WriteTimeout => "write_timeout",
        DisconnectReason.SlowConsumer => "slow_consumer",
        DisconnectReason.ProtocolError => "protocol_error",
        DisconnectReason.ServerStopping => "server_stopping",
        DisconnectReason.Completed => "completed",
        _ => "server_fault",
    };
}
