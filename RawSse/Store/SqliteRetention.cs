using Microsoft.Data.Sqlite;

namespace RawSse.Store;

/// <summary>
/// <see cref="SqliteEventLog"/>'s trimming, on the writer's connection and thread only: what the kept events are
/// charged overall and per topic (loaded lazily, then kept up to date by every commit), which topics may be over
/// their limits, and a pass that handles at most a chunk of rows in one transaction, so an append waits at most for
/// one chunk. The semantics are <see cref="MemoryEventLog"/>'s: per topic the oldest go until its count and bytes are
/// within the limits, and an event stays while any of its topics keeps it; overall (bytes, then age) the oldest events
/// go from every topic at once and raise the overall floor.
/// <para>
/// A topic's history is trimmed oldest first, so what it keeps is exactly its rows above its floor: trimming a topic
/// raises its floor, and deletes only the events no topic keeps any more (with all their rows). The rows of an event
/// stay while it is kept, so a read by topic finds a kept event through any topic it names, as the contract says
/// ("the kept events ... that name any of topics").
/// </para>
/// </summary>
internal sealed class SqliteRetention : IDisposable
{
    private readonly SqliteConnection _connection;
    private readonly LogRetention _limits;
    private readonly int _chunk;
    private readonly Dictionary<string, TopicStats> _stats = new(StringComparer.Ordinal);  // topics with kept events, once looked at
    private readonly HashSet<string> _dirty = new(StringComparer.Ordinal);                // topics that may be over a limit
    private readonly List<string> _looking = [];
    private readonly List<long> _seqs = [];
    private readonly Dictionary<string, TopicStats> _gone = new(StringComparer.Ordinal);
    private long _bytes;
    private bool _bytesStale;

    private readonly SqliteCommand _begin;
    private readonly SqliteCommand _commit;
    private readonly SqliteCommand _readBytes;
    private readonly SqliteCommand _addBytes;
    private readonly SqliteCommand _raiseMeta;
    private readonly SqliteCommand _topicStats;
    private readonly SqliteCommand _topicOldest;
    private readonly SqliteCommand _deleteRowsOf;
    private readonly SqliteCommand _upsertFloor;
    private readonly SqliteCommand _deleteIfOrphan;
    private readonly SqliteCommand _oldest;
    private readonly SqliteCommand _deleteTopicsUpTo;
    private readonly SqliteCommand _deleteEventsUpTo;
    private readonly SqliteCommand _pruneFloors;

    public SqliteRetention(SqliteConnection connection, LogRetention limits, long bytes, int chunk)
    {
        _connection = connection;
        _limits = limits;
        _bytes = bytes;
        _chunk = chunk;
        _begin = SqliteSchema.Prepare(connection, "BEGIN IMMEDIATE");
        _commit = SqliteSchema.Prepare(connection, "COMMIT");
        _readBytes = SqliteSchema.Prepare(connection, "SELECT value FROM meta WHERE key = 'bytes'");
        _addBytes = SqliteSchema.Prepare(connection, "UPDATE meta SET value = value + $delta WHERE key = 'bytes'", "$delta");
        _raiseMeta = SqliteSchema.Prepare(connection, "UPDATE meta SET value = max(value, $value) WHERE key = $key", "$key", "$value");
        _topicStats = SqliteSchema.Prepare(connection,
            "WITH f(up_to) AS (SELECT coalesce((SELECT up_to FROM floors WHERE topic = $topic), 0)) " +
            "SELECT (SELECT up_to FROM f), count(*), coalesce(sum(size), 0) FROM event_topics WHERE topic = $topic AND seq > (SELECT up_to FROM f)",
            "$topic");
        _topicOldest = SqliteSchema.Prepare(connection,
            "SELECT seq, size FROM event_topics WHERE topic = $topic AND seq > $floor ORDER BY seq LIMIT $limit", "$topic", "$floor", "$limit");
        _deleteRowsOf = SqliteSchema.Prepare(connection, "DELETE FROM event_topics WHERE seq = $seq", "$seq");
        _upsertFloor = SqliteSchema.Prepare(connection,
            "INSERT INTO floors(topic, up_to) VALUES ($topic, $upTo) ON CONFLICT(topic) DO UPDATE SET up_to = max(up_to, excluded.up_to)",
            "$topic", "$upTo");
        _deleteIfOrphan = SqliteSchema.Prepare(connection,
            "DELETE FROM events WHERE seq = $seq AND NOT EXISTS (SELECT 1 FROM event_topics t LEFT JOIN floors f ON f.topic = t.topic " +
            "WHERE t.seq = $seq AND t.seq > coalesce(f.up_to, 0)) RETURNING size",
            "$seq");
        _oldest = SqliteSchema.Prepare(connection, "SELECT seq, size, time FROM events ORDER BY seq LIMIT $limit", "$limit");
        _deleteTopicsUpTo = SqliteSchema.Prepare(connection, "DELETE FROM event_topics WHERE seq <= $upTo RETURNING topic, seq, size", "$upTo");
        _deleteEventsUpTo = SqliteSchema.Prepare(connection, "DELETE FROM events WHERE seq <= $upTo", "$upTo");
        _pruneFloors = SqliteSchema.Prepare(connection, "DELETE FROM floors WHERE up_to <= $floor", "$floor");
    }

    /// <summary>True when a pass has something to do (without the age limit, which only a requested pass applies).</summary>
    public bool Due => _dirty.Count > 0 || _bytes > _limits.TotalBytes;

    /// <summary>Counts a committed event, charged <paramref name="size"/>, against its topics and the total.</summary>
    public void Committed(IReadOnlyList<string> topics, long size)
    {
        _bytes += size;
        for (int i = 0; i < topics.Count; i++)
        {
            if (!_stats.TryGetValue(topics[i], out var stats))
            {
                _dirty.Add(topics[i]); // the pass loads it, this event included
            }
            else
            {
                stats.Count++;
                stats.Bytes += size;
                if (IsOver(stats))
                {
                    _dirty.Add(topics[i]);
                }
            }
        }
    }

    /// <summary>
    /// One pass, in one transaction, of at most a chunk of rows: the topics that may be over, then the total bytes,
    /// then (when <paramref name="includeAge"/>) the age. Returns true when more is left for another pass. On an error
    /// it rolls back, forgets what it had counted (to be loaded again) and rethrows.
    /// </summary>
    public bool RunPass(bool includeAge)
    {
        _looking.Clear();
        _looking.AddRange(_dirty);
        _begin.ExecuteNonQuery();
        try
        {
            if (_bytesStale)
            {
                _bytes = (long)_readBytes.ExecuteScalar()!;
                _bytesStale = false;
            }

            int budget = _chunk;
            foreach (var topic in _looking)
            {
                var stats = StatsOf(topic);
                if (budget > 0 && IsOver(stats))
                {
                    budget -= TrimTopic(topic, stats, budget);
                }

                if (!IsOver(stats))
                {
                    _dirty.Remove(topic);
                }

                if (stats.Count == 0)
                {
                    _stats.Remove(topic);
                }
            }

            bool more = _dirty.Count > 0;
            if (_bytes > _limits.TotalBytes)
            {
                budget -= DropOldest(budget, cutoffMs: null);
                more |= _bytes > _limits.TotalBytes;
            }

            if (includeAge && _limits.MaxAge is { } age)
            {
                long cutoff = (DateTimeOffset.UtcNow - age).ToUnixTimeMilliseconds();
                int dropped = DropOldest(budget, cutoff);
                more |= dropped == budget; // the chunk ran out before an event young enough was found
            }

            _commit.ExecuteNonQuery();
            return more;
        }
        catch
        {
            _stats.Clear();
            _bytesStale = true;
            _dirty.UnionWith(_looking);
            try
            {
                SqliteSchema.RollbackIfActive(_connection);
            }
            catch (SqliteException)
            {
                // Still in the transaction: the next BEGIN fails, and its batch rolls back again.
            }

            throw;
        }
    }

    public void Dispose()
    {
        foreach (var command in (ReadOnlySpan<SqliteCommand>)[_begin, _commit, _readBytes, _addBytes, _raiseMeta, _topicStats, _topicOldest,
            _deleteRowsOf, _upsertFloor, _deleteIfOrphan, _oldest, _deleteTopicsUpTo, _deleteEventsUpTo, _pruneFloors])
        {
            command.Dispose();
        }
    }

    private bool IsOver(TopicStats stats) => stats.Count > _limits.PerTopicCount || stats.Bytes > _limits.PerTopicBytes;

    private TopicStats StatsOf(string topic)
    {
        if (!_stats.TryGetValue(topic, out var stats))
        {
            _topicStats.Parameters[0].Value = topic;
            using var reader = _topicStats.ExecuteReader();
            reader.Read();
            stats = new TopicStats { Floor = reader.GetInt64(0), Count = reader.GetInt64(1), Bytes = reader.GetInt64(2) };
            _stats[topic] = stats;
        }

        return stats;
    }

    // The oldest of one topic go until it is within its limits (at most `budget` of them): its floor rises past them,
    // and an event no other topic keeps is deleted with its rows. Returns the rows let go.
    private int TrimTopic(string topic, TopicStats stats, int budget)
    {
        _seqs.Clear();
        _topicOldest.Parameters[0].Value = topic;
        _topicOldest.Parameters[1].Value = stats.Floor;
        _topicOldest.Parameters[2].Value = budget;
        using (var reader = _topicOldest.ExecuteReader())
        {
            while (IsOver(stats) && reader.Read())
            {
                _seqs.Add(reader.GetInt64(0));
                stats.Count--;
                stats.Bytes -= reader.GetInt64(1);
            }
        }

        if (_seqs.Count == 0)
        {
            return 0;
        }

        stats.Floor = _seqs[^1];
        _upsertFloor.Parameters[0].Value = topic;
        _upsertFloor.Parameters[1].Value = stats.Floor;
        _upsertFloor.ExecuteNonQuery();
        RaiseMeta("topic_floor", stats.Floor);

        long freed = 0;
        foreach (long seq in _seqs)
        {
            _deleteIfOrphan.Parameters[0].Value = seq;
            if (_deleteIfOrphan.ExecuteScalar() is long size)
            {
                // Its rows in other topics are at or below their floors: no topic counted them any more.
                _deleteRowsOf.Parameters[0].Value = seq;
                _deleteRowsOf.ExecuteNonQuery();
                freed += size;
            }
        }

        AddBytes(-freed);
        return _seqs.Count;
    }

    // The oldest events go from every topic at once: while the total is over its limit (cutoffMs null) or while they
    // are older than cutoffMs, at most `budget` of them. Returns the events deleted.
    private int DropOldest(int budget, long? cutoffMs)
    {
        if (budget <= 0)
        {
            return 0;
        }

        long upTo = 0, dropped = 0;
        int count = 0;
        _oldest.Parameters[0].Value = budget;
        using (var reader = _oldest.ExecuteReader())
        {
            while (reader.Read())
            {
                bool drop = cutoffMs is { } cutoff ? reader.GetInt64(2) < cutoff : _bytes - dropped > _limits.TotalBytes;
                if (!drop)
                {
                    break;
                }

                upTo = reader.GetInt64(0);
                dropped += reader.GetInt64(1);
                count++;
            }
        }

        if (count == 0)
        {
            return 0;
        }

        _gone.Clear();
        _deleteTopicsUpTo.Parameters[0].Value = upTo;
        using (var reader = _deleteTopicsUpTo.ExecuteReader())
        {
            while (reader.Read())
            {
                string topic = reader.GetString(0);
                if (_stats.TryGetValue(topic, out var stats) && reader.GetInt64(1) > stats.Floor) // a row the topic still counted
                {
                    if (!_gone.TryGetValue(topic, out var gone))
                    {
                        _gone[topic] = gone = new TopicStats();
                    }

                    gone.Count++;
                    gone.Bytes += reader.GetInt64(2);
                }
            }
        }

        foreach (var (topic, gone) in _gone)
        {
            var stats = _stats[topic];
            stats.Count -= gone.Count;
            stats.Bytes -= gone.Bytes;
            if (stats.Count == 0)
            {
                _stats.Remove(topic);
            }
        }

        _deleteEventsUpTo.Parameters[0].Value = upTo;
        _deleteEventsUpTo.ExecuteNonQuery();

        // The overall floor now covers every topic's history up to upTo: a topic floor at or below it says nothing more.
        RaiseMeta("floor", upTo);
        _pruneFloors.Parameters[0].Value = upTo;
        _pruneFloors.ExecuteNonQuery();
        AddBytes(-dropped);
        return count;
    }

    private void RaiseMeta(string key, long value)
    {
        _raiseMeta.Parameters[0].Value = key;
        _raiseMeta.Parameters[1].Value = value;
        _raiseMeta.ExecuteNonQuery();
    }

    private void AddBytes(long delta)
    {
        if (delta != 0)
        {
            _addBytes.Parameters[0].Value = delta;
            _addBytes.ExecuteNonQuery();
            _bytes += delta;
        }
    }

    private sealed class TopicStats
    {
        public long Floor { get; set; }  // the topic keeps exactly its rows above it
        public long Count { get; set; }
        public long Bytes { get; set; }
    }
}
