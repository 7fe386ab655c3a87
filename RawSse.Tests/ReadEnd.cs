namespace RawSse.Tests;

/// <summary>How a read to the end of a connection stopped: the peer's FIN, a reset, or the deadline.</summary>
internal enum ReadEnd
{
    /// <summary>A read returned 0: the peer closed cleanly.</summary>
    Eof,

    /// <summary>The peer reset the connection (ECONNRESET).</summary>
    Reset,

    /// <summary>Neither arrived before the deadline.</summary>
    Timeout,
}

/// <summary>How a connection ended, and the bytes that arrived before that which no read had taken.</summary>
internal readonly record struct ConnectionEnd(ReadEnd End, byte[] Bytes)
{
    public override string ToString() => $"{End} after {Bytes.Length} unread bytes{(Bytes.Length == 0 ? "" : $": {Describe.Bytes(Bytes, 0, 200)}")}";
}
