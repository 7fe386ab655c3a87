using RawSse.Sse;

namespace RawSse.Store;

/// <summary>An event on its way into the log: its topics (1 to 32, distinct), the event, and whether it is private.</summary>
public sealed record NewEvent(IReadOnlyList<string> Topics, SseEvent Event, bool IsPrivate = false);
