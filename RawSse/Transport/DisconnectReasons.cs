namespace RawSse.Transport;

/// <summary>The metric label of each <see cref="DisconnectReason"/>.</summary>
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
        DisconnectReason.TokenExpired => "token_expired",
        DisconnectReason.ServerStopping => "server_stopping",
        DisconnectReason.Completed => "completed",
        _ => "server_fault",
    };
}
