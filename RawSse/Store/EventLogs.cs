using Microsoft.Extensions.Logging;

namespace RawSse.Store;

/// <summary>
/// The <c>--store</c> option: none (the rings are the whole history), <c>memory</c>, <c>sqlite:PATH</c>, or
/// <c>nats://HOST:PORT[/STREAM]</c> (a JetStream stream several nodes share).
/// </summary>
internal static class EventLogs
{
    public const string SqlitePrefix = "sqlite:";

    public static bool IsValidSpec(string? spec) =>
        spec is null or "" or "memory" || (spec.StartsWith(SqlitePrefix, StringComparison.Ordinal) && spec.Length > SqlitePrefix.Length)
        || NatsStoreAddress.TryParse(spec, out _);

    /// <summary>The spec as a log line may show it: a NATS address without its credentials.</summary>
    public static string? Describe(string? spec) => NatsStoreAddress.TryParse(spec, out var nats) ? nats.ToString() : spec;

    /// <summary>Opens the log <paramref name="spec"/> names, or null for none.</summary>
    /// <exception cref="EventLogUnavailableException">The store cannot be opened (the path cannot be created or written, no NATS server answered).</exception>
    public static IEventLog? Open(string? spec, LogRetention retention, ILogger log, bool synchronousFull = false) => spec switch
    {
        null or "" => null,
        "memory" => new MemoryEventLog(retention),
        _ when NatsStoreAddress.TryParse(spec, out var nats) => NatsEventLog.OpenAsync(nats, retention, log).GetAwaiter().GetResult(),
        _ => SqliteEventLog.Open(Path.GetFullPath(spec[SqlitePrefix.Length..]), retention, log, synchronousFull),
    };
}
