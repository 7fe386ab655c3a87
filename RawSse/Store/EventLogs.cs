using Microsoft.Extensions.Logging;

namespace RawSse.Store;

/// <summary>The <c>--store</c> option: none (the rings are the whole history), <c>memory</c>, or <c>sqlite:PATH</c>.</summary>
internal static class EventLogs
{
    public const string SqlitePrefix = "sqlite:";

    public static bool IsValidSpec(string? spec) =>
        spec is null or "" or "memory" || (spec.StartsWith(SqlitePrefix, StringComparison.Ordinal) && spec.Length > SqlitePrefix.Length);

    /// <summary>Opens the log <paramref name="spec"/> names, or null for none.</summary>
    /// <exception cref="EventLogUnavailableException">The store cannot be opened (the path cannot be created or written).</exception>
    public static IEventLog? Open(string? spec, LogRetention retention, ILogger log, bool synchronousFull = false) => spec switch
    {
        null or "" => null,
        "memory" => new MemoryEventLog(retention),
        _ => SqliteEventLog.Open(Path.GetFullPath(spec[SqlitePrefix.Length..]), retention, log, synchronousFull),
    };
}
