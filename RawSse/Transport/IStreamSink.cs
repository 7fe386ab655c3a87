namespace RawSse.Transport;

/// <summary>
/// The send side of a connection that has become an SSE stream, as the stream's writer sees it: bytes in, nothing
/// else. The SSE layer never sees the socket; it writes here, and when its stream is over it says so through
/// <see cref="Complete"/> and the connection that owns the socket decides what to close.
/// </summary>
internal interface IStreamSink
{
    /// <summary>
    /// Sends without waiting: the bytes the kernel took, which is fewer than asked (0 included) when the socket's
    /// buffer is full; -1 when the connection has failed or is gone.
    /// </summary>
    int TrySend(ReadOnlySpan<byte> bytes);

    /// <summary>Sends all of <paramref name="bytes"/>, waiting for room. False when the connection failed meanwhile.</summary>
    ValueTask<bool> SendAsync(ReadOnlyMemory<byte> bytes);

    /// <summary>Half-closes after the last frame, so the client reads a clean end of the response rather than a reset.</summary>
    void EndStream();

    /// <summary>The stream cannot go on (<paramref name="reason"/>): the owner closes the connection. Idempotent.</summary>
    void Complete(DisconnectReason reason);
}
