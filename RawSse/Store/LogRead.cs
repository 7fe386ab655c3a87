namespace RawSse.Store;

/// <summary>
/// What a read found: the events, oldest first, and whether they are everything after the position asked for
/// (false: retention removed some, or there were more than asked for).
/// </summary>
public sealed record LogRead(IReadOnlyList<LoggedEvent> Events, bool Complete);
