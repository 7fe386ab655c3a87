using System.Buffers;
using System.Text;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using RawSse.Sse;

namespace RawSse.Store;

/// <summary>
/// One read connection of <see cref="SqliteEventLog"/> and its prepared queries; used by one read at a time (the
/// log pools them). Under WAL a reader sees the database as of the last commit before its transaction began, and
/// neither blocks the writer nor is blocked by it (sqlite.org/wal.html, "Concurrency").
/// </summary>
internal sealed class SqliteReadConnection : IDisposable
{
    private const string Columns = "seq, id, type, data, retry, private, topics, time";
    private const char TopicSeparator = '\n';

    private static readonly string[] s_noTopics = [];

    private readonly SqliteConnection _connection;
    private readonly SqliteCommand _begin;
    private readonly SqliteCommand _end;
    private readonly SqliteCommand _floorsAll;
    private readonly SqliteCommand _floorsOne;
    private readonly SqliteCommand _floorsMany;
    private readonly SqliteCommand _readAll;
    private readonly SqliteCommand _readOne;
    private readonly SqliteCommand _readMany;
    private readonly SqliteCommand _findId;

    public SqliteReadConnection(string path, TimeSpan busyTimeout)
    {
        _connection = SqliteSchema.OpenReader(path, busyTimeout);
        try
        {
            _begin = SqliteSchema.Prepare(_connection, "BEGIN");
            _end = SqliteSchema.Prepare(_connection, "COMMIT");
            _floorsAll = SqliteSchema.Prepare(_connection,
                "SELECT (SELECT value FROM meta WHERE key = 'floor'), (SELECT value FROM meta WHERE key = 'topic_floor')");
            _floorsOne = SqliteSchema.Prepare(_connection,
                "SELECT (SELECT value FROM meta WHERE key = 'floor'), coalesce((SELECT up_to FROM floors WHERE topic = $topic), 0)", "$topic");
            _floorsMany = SqliteSchema.Prepare(_connection,
                "SELECT (SELECT value FROM meta WHERE key = 'floor'), " +
                "coalesce((SELECT max(up_to) FROM floors WHERE topic IN (SELECT value FROM json_each($topics))), 0)", "$topics");
            _readAll = SqliteSchema.Prepare(_connection,
                $"SELECT {Columns} FROM events WHERE seq > $after AND seq <= $head ORDER BY seq LIMIT $limit", "$after", "$head", "$limit");
            _readOne = SqliteSchema.Prepare(_connection,
                $"SELECT {Columns} FROM events WHERE seq IN " +
                "(SELECT seq FROM event_topics WHERE topic = $topic AND seq > $after AND seq <= $head ORDER BY seq LIMIT $limit) ORDER BY seq",
                "$topic", "$after", "$head", "$limit");
            _readMany = SqliteSchema.Prepare(_connection,
                $"SELECT {Columns} FROM events WHERE seq IN " +
                "(SELECT seq FROM event_topics WHERE topic IN (SELECT value FROM json_each($topics)) AND seq > $after AND seq <= $head) " +
                "ORDER BY seq LIMIT $limit",
                "$topics", "$after", "$head", "$limit");
            _findId = SqliteSchema.Prepare(_connection,
                "SELECT seq FROM events WHERE id = $id AND seq <= $head ORDER BY seq DESC LIMIT 2", "$id", "$head");
        }
        catch
        {
            _connection.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The events after <paramref name="after"/> up to <paramref name="head"/> (the log's head when the read began, so
    /// a read never shows an event its sink has not been given yet), and whether they are all of them; the floors and
    /// the events are read in one transaction, from one snapshot.
    /// </summary>
    public LogRead ReadAfter(long after, long head, IReadOnlyCollection<string>? topics, int max)
    {
        SqliteCommand floors, events;
        if (topics is null)
        {
            floors = _floorsAll;
            events = _readAll;
        }
        else if (topics.Count == 1)
        {
            string topic = topics.First();
            floors = _floorsOne;
            events = _readOne;
            floors.Parameters[0].Value = topic;
            events.Parameters[0].Value = topic;
        }
        else
        {
            string json = ToJsonArray(topics);
            floors = _floorsMany;
            events = _readMany;
            floors.Parameters[0].Value = json;
            events.Parameters[0].Value = json;
        }

        int p = topics is null ? 0 : 1;
        events.Parameters[p].Value = after;
        events.Parameters[p + 1].Value = head;
        events.Parameters[p + 2].Value = (long)max + 1; // one more than asked says whether there are more

        _begin.ExecuteNonQuery();
        try
        {
            bool complete;
            using (var reader = floors.ExecuteReader())
            {
                reader.Read();
                complete = reader.GetInt64(0) <= after && reader.GetInt64(1) <= after;
            }

            var found = new List<LoggedEvent>(Math.Min(max, 64));
            using (var reader = events.ExecuteReader())
            {
                while (reader.Read())
                {
                    if (found.Count == max)
                    {
                        complete = false;
                        break;
                    }

                    found.Add(ReadEvent(reader));
                }
            }

            _end.ExecuteNonQuery();
            return new LogRead(found, complete);
        }
        catch
        {
            SqliteSchema.RollbackIfActive(_connection);
            throw;
        }
    }

    /// <summary>The positions, newest first, of at most two kept events up to <paramref name="head"/> with this id.</summary>
    public IReadOnlyList<long> FindId(string id, long head)
    {
        _findId.Parameters[0].Value = id;
        _findId.Parameters[1].Value = head;
        var found = new List<long>(2);
        using var reader = _findId.ExecuteReader();
        while (reader.Read())
        {
            found.Add(reader.GetInt64(0));
        }

        return found;
    }

    public void Dispose() => _connection.Dispose(); // disposes its commands' statements with it

    private static LoggedEvent ReadEvent(SqliteDataReader reader)
    {
        var ev = new SseEvent(
            data: reader.GetString(3),
            type: reader.IsDBNull(2) ? null : reader.GetString(2),
            id: reader.IsDBNull(1) ? null : reader.GetString(1),
            retry: reader.IsDBNull(4) ? null : reader.GetInt32(4));
        string joined = reader.GetString(6);
        string[] topics = joined.Length == 0 ? s_noTopics : joined.Split(TopicSeparator);
        return new LoggedEvent(reader.GetInt64(0), topics, ev, reader.GetInt64(5) != 0, DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(7)));
    }

    // json_each's argument: the topics as a JSON array of strings, whatever characters they hold.
    private static string ToJsonArray(IReadOnlyCollection<string> topics)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            foreach (var topic in topics)
            {
                writer.WriteStringValue(topic);
            }

            writer.WriteEndArray();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
