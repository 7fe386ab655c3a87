using RawSse.Sse;

namespace RawSse.Store;

/// <summary>
/// An event as the log keeps it: its position, topics, the event (whose <see cref="SseEvent.Id"/> is the publisher's
/// own id, or null for one the hub names from the position), whether it is private, and when it was appended.
/// </summary>
public sealed record LoggedEvent(long Sequence, IReadOnlyList<string> Topics, SseEvent Event, bool IsPrivate, DateTimeOffset Time);
