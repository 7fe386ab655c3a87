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
