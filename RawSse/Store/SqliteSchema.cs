using Microsoft.Data.Sqlite;
using RawSse.Sse;
using SQLitePCL;

namespace RawSse.Store;

/// <summary>
/// The tables of <see cref="SqliteEventLog"/> and how its connections are opened. Version 1:
/// <list type="bullet">
/// <item><c>meta(key, value)</c>: <c>schema</c> (1), <c>epoch</c> (made on the first open, read on every later one),
/// <c>head</c> (the newest position ever given; advanced in every append transaction, so a trim of everything never
/// lets a position be reused), <c>floor</c> (every event at or below it may be gone, whatever its topic),
/// <c>topic_floor</c> (the highest of the per-topic floors, for a read of every topic) and <c>bytes</c> (what the kept
/// events are charged, <see cref="LogRetention.SizeOf"/>).</item>
/// <item><c>events(seq, id, type, data, retry, private, topics, time, size)</c>: one row per kept event, keyed by its
/// position; <c>topics</c> is the event's topics joined by LF (a topic never contains one), as appended, even after the
/// event left some of them; <c>time</c> is Unix milliseconds. A partial index on <c>id</c> (only publisher-given ids)
/// answers <see cref="IEventLog.FindIdAsync"/>.</item>
/// <item><c>event_topics(topic, seq, size)</c>: one row per topic of each kept event, keyed (topic, seq) for reading
/// and trimming one topic oldest first, with an index on seq for deleting an event's rows and trimming oldest
/// overall. The rows go with their event.</item>
/// <item><c>floors(topic, up_to)</c>: per topic, every event of it at or below <c>up_to</c> may be gone, and the
/// topic keeps exactly its rows above it (it is trimmed oldest first). A row at or below the overall floor says
/// nothing the floor does not, and is pruned when the floor passes it.</item>
/// </list>
/// </summary>
internal static class SqliteSchema
{
    public const long Version = 1;

    private const string Tables = """
        CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value ANY) STRICT, WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS events(
            seq INTEGER PRIMARY KEY, id TEXT, type TEXT, data TEXT NOT NULL, retry INTEGER,
            private INTEGER NOT NULL, topics TEXT NOT NULL, time INTEGER NOT NULL, size INTEGER NOT NULL) STRICT;
        CREATE INDEX IF NOT EXISTS events_id ON events(id) WHERE id IS NOT NULL;
        CREATE TABLE IF NOT EXISTS event_topics(
            topic TEXT NOT NULL, seq INTEGER NOT NULL, size INTEGER NOT NULL, PRIMARY KEY(topic, seq)) STRICT, WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS event_topics_seq ON event_topics(seq);
        CREATE TABLE IF NOT EXISTS floors(topic TEXT PRIMARY KEY, up_to INTEGER NOT NULL) STRICT, WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS floors_up_to ON floors(up_to);
        INSERT OR IGNORE INTO meta(key, value) VALUES
            ('schema', 1), ('epoch', $epoch), ('head', 0), ('floor', 0), ('topic_floor', 0), ('bytes', 0);
        """;

    /// <summary>The writer's connection: WAL, the chosen synchronous level, the busy timeout.</summary>
    public static SqliteConnection OpenWriter(string path, SqliteEventLogOptions options)
    {
        var connection = new SqliteConnection(ConnectionString(path, SqliteOpenMode.ReadWriteCreate, options.BusyTimeout));
        try
        {
            connection.Open();
            SetBusyTimeout(connection, options.BusyTimeout);

            // sqlite.org/wal.html: "the journal_mode pragma returns a string which is the new journal mode"; a
            // file system without shared memory for the wal-index keeps the old one, and readers would then block the writer.
            string mode = Scalar(connection, "PRAGMA journal_mode=WAL") as string ?? "";
            if (!mode.Equals("wal", StringComparison.OrdinalIgnoreCase))
            {
                throw new EventLogUnavailableException($"the event log '{path}' cannot use write-ahead logging (journal mode stays '{mode}')");
            }

            Execute(connection, options.SynchronousFull ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");

            // After a checkpoint the WAL is cut back to this size instead of staying at its largest (sqlite.org/pragma.html#pragma_journal_size_limit).
            Execute(connection, "PRAGMA journal_size_limit=67108864");
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>A reader's connection: it never writes (<c>query_only</c>), and under WAL it never blocks the writer.</summary>
    public static SqliteConnection OpenReader(string path, TimeSpan busyTimeout)
    {
        var connection = new SqliteConnection(ConnectionString(path, SqliteOpenMode.ReadWrite, busyTimeout));
        try
        {
            connection.Open();
            SetBusyTimeout(connection, busyTimeout);
            Execute(connection, "PRAGMA query_only=ON");
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>Creates what is missing, then reads the log's state: its epoch, head and charged bytes.</summary>
    public static (string Epoch, long Head, long Bytes) Initialize(SqliteConnection connection, string path)
    {
        Execute(connection, "BEGIN IMMEDIATE");
        try
        {
            using (var create = connection.CreateCommand())
            {
                create.CommandText = Tables;
                create.Parameters.AddWithValue("$epoch", EventIds.NewEpoch());
                create.ExecuteNonQuery();
            }

            Execute(connection, "COMMIT");
        }
        catch
        {
            RollbackIfActive(connection);
            throw;
        }

        if (Meta(connection, "schema") is not long version || version != Version)
        {
            throw new EventLogUnavailableException($"the event log '{path}' has schema version {Meta(connection, "schema") ?? "(none)"}; this build reads version {Version}");
        }

        if (Meta(connection, "epoch") is not string epoch || !EventIds.IsEpoch(epoch))
        {
            throw new EventLogUnavailableException($"the event log '{path}' has no valid epoch in its meta table");
        }

        return (epoch, (long)Meta(connection, "head")!, (long)Meta(connection, "bytes")!);
    }

    /// <summary>A prepared command with its parameters, made once and run many times.</summary>
    public static SqliteCommand Prepare(SqliteConnection connection, string sql, params ReadOnlySpan<string> parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var name in parameters)
        {
            command.Parameters.Add(new SqliteParameter { ParameterName = name });
        }

        command.Prepare();
        return command;
    }

    /// <summary>
    /// Rolls back the open transaction, if any: after some errors (SQLITE_FULL, SQLITE_IOERR, SQLITE_NOMEM) SQLite has
    /// already rolled it back itself, and a ROLLBACK then would fail (sqlite.org/lang_transaction.html).
    /// </summary>
    public static void RollbackIfActive(SqliteConnection connection)
    {
        if (connection.Handle is { } handle && raw.sqlite3_get_autocommit(handle) == 0)
        {
            Execute(connection, "ROLLBACK");
        }
    }

    public static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static object? Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    private static object? Meta(SqliteConnection connection, string key)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT value FROM meta WHERE key = $key";
        command.Parameters.AddWithValue("$key", key);
        return command.ExecuteScalar();
    }

    // Pooling off: closing the log closes the file (a pooled connection would keep it open, and the WAL with it).
    // Default Timeout: Microsoft.Data.Sqlite retries a busy statement itself until the command timeout, in whole seconds.
    private static string ConnectionString(string path, SqliteOpenMode mode, TimeSpan busyTimeout) => new SqliteConnectionStringBuilder
    {
        DataSource = path,
        Mode = mode,
        Pooling = false,
        DefaultTimeout = (int)Math.Max(1, Math.Ceiling(busyTimeout.TotalSeconds)),
    }.ToString();

    private static void SetBusyTimeout(SqliteConnection connection, TimeSpan busyTimeout) =>
        Execute(connection, $"PRAGMA busy_timeout={(long)busyTimeout.TotalMilliseconds}");
}
