namespace RawSse.Sse;

/// <summary>What a replay ring knows of a Last-Event-ID.</summary>
internal enum IdMatch
{
    None,
    Found,

    /// <summary>Several kept events carry the id.</summary>
    Ambiguous,
}
