namespace RawSse.Http;

/// <summary>What <see cref="RequestReader.ReadHeadAsync"/> found.</summary>
internal enum HeadResult
{
    /// <summary>A whole head was parsed into the request.</summary>
    Complete,

    /// <summary>Part of a head arrived; more is needed.</summary>
    Partial,

    /// <summary>Nothing is buffered, and the caller asked not to wait.</summary>
    WouldWait,

    /// <summary>The client closed its side before a whole head arrived.</summary>
    Closed,

    /// <summary>The read was cancelled: the server is stopping or a timeout fired.</summary>
    Canceled,
}
