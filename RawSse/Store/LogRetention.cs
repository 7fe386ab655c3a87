namespace RawSse.Store;

/// <summary>
/// What a log keeps, the same limits as the hub's rings: per topic a number of events and bytes, overall bytes, and
/// optionally an age. An event counts its data, id, type and topics in bytes.
/// </summary>
public sealed record LogRetention(int PerTopicCount = 1000, long PerTopicBytes = 4L << 20, long TotalBytes = 256L << 20, TimeSpan? MaxAge = null)
{
    public static LogRetention Default { get; } = new();

    /// <summary>The bytes an event is charged.</summary>
    public static long SizeOf(NewEvent e) =>
        e.Event.DataSize + (e.Event.Id?.Length ?? 0) + (e.Event.Type?.Length ?? 0) + e.Topics.Sum(t => t.Length) + 64;
}
