namespace RawSse.Store;

/// <summary>
/// The knobs of <see cref="SqliteEventLog"/> that only tests and benchmarks turn: the defaults are what the server runs.
/// </summary>
internal sealed record SqliteEventLogOptions
{
    public static SqliteEventLogOptions Default { get; } = new();

    /// <summary>
    /// How long a statement waits for a lock held by another connection before the batch fails with
    /// <see cref="EventLogUnavailableException"/>. Microsoft.Data.Sqlite retries busy statements for the command
    /// timeout, which counts whole seconds, so the wait is at least a second.
    /// </summary>
    public TimeSpan BusyTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// <c>PRAGMA synchronous=FULL</c> (true: every commit fsyncs the WAL) or <c>NORMAL</c> (false); see the class
    /// comment of <see cref="SqliteEventLog"/> for what each means.
    /// </summary>
    public bool SynchronousFull { get; init; }

    /// <summary>Appends waiting for the writer beyond which <see cref="SqliteEventLog.AppendAsync"/> refuses at once.</summary>
    public int MaxPendingAppends { get; init; } = 64 * 1024;

    /// <summary>The most events one transaction takes (at least one whole append, however long).</summary>
    public int MaxBatchEvents { get; init; } = 4096;

    /// <summary>Batches after which a due retention pass runs, though nobody asked (<see cref="SqliteEventLog.TrimAsync"/> runs one at once).</summary>
    public int TrimEveryBatches { get; init; } = 16;

    /// <summary>The delay after which a due retention pass runs, however few batches went by.</summary>
    public TimeSpan TrimDelay { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>The most rows one retention pass deletes before the writer goes back to appends.</summary>
    public int TrimChunk { get; init; } = 5000;

    /// <summary>
    /// For tests: runs on the writer's connection before each append transaction, to put it in a state a test needs
    /// (a page limit standing in for a full disk).
    /// </summary>
    public Action<Microsoft.Data.Sqlite.SqliteConnection>? BeforeBatch { get; init; }
}
