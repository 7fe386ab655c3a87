using RawSse.Sse;

namespace RawSse.Store;

/// <summary>
/// The contract's reference implementation, in memory: a new epoch every time, appends stored at once (there is
/// nothing to commit), retention applied as each event arrives (age on <see cref="TrimAsync"/>). For tests, for an
/// embedding program, and for comparing a durable store against no durability at all (<c>--store memory</c>).
/// </summary>
public sealed class MemoryEventLog(LogRetention retention) : IEventLog
{
    private const int MaxIdMatches = 2;

    private readonly Lock _lock = new();
    private readonly List<Slot> _events = [];                                   // in sequence order; guarded by _lock
    private readonly Dictionary<string, TopicLog> _topics = new(StringComparer.Ordinal); // guarded by _lock
    private IEventLogSink? _sink;
    private long _head;
    private long _floor;          // every event at or below it may be gone, whatever its topic
    private long _bytes;
    private int _gone;            // slots in _events that are gone, compacted away past half

    public MemoryEventLog()
        : this(LogRetention.Default)
    {
    }

    public string Epoch { get; } = EventIds.NewEpoch();

    public long Head
    {
        get { lock (_lock) { return _head; } }
    }

    public void Attach(IEventLogSink sink) => _sink = sink;

    public ValueTask<long> AppendAsync(IReadOnlyList<NewEvent> events, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(events);
        lock (_lock)
        {
            long first = _head + 1;
            foreach (var e in events)
            {
                var slot = new Slot(new LoggedEvent(++_head, e.Topics, e.Event, e.IsPrivate, DateTimeOffset.UtcNow), LogRetention.SizeOf(e), e.Topics.Count);
                _events.Add(slot);
                _bytes += slot.Size;
                foreach (var name in e.Topics)
                {
                    if (!_topics.TryGetValue(name, out var topic))
                    {
                        _topics[name] = topic = new TopicLog();
                    }

                    topic.Kept.Enqueue(slot);
                    topic.Bytes += slot.Size;
                    while (topic.Kept.Count > retention.PerTopicCount || topic.Bytes > retention.PerTopicBytes)
                    {
                        Release(topic, topic.Kept.Dequeue());
                    }
                }

                while (_bytes > retention.TotalBytes)
                {
                    DropOldest();
                }

                _sink?.Apply(slot.Event); // in log order: the lock orders appends
            }

            _sink?.Release();
            return ValueTask.FromResult(first);
        }
    }

    public ValueTask<LogRead> ReadAfterAsync(long after, IReadOnlyCollection<string>? topics, int max, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            bool complete = _floor <= after && (topics is null
                ? _topics.Values.All(t => t.Floor <= after)
                : topics.All(name => !_topics.TryGetValue(name, out var t) || t.Floor <= after));
            var found = new List<LoggedEvent>();
            for (int i = FirstAfter(after); i < _events.Count; i++)
            {
                var slot = _events[i];
                if (slot.Gone || (topics is not null && !slot.Event.Topics.Any(topics.Contains)))
                {
                    continue;
                }

                if (found.Count == max)
                {
                    complete = false;
                    break;
                }

                found.Add(slot.Event);
            }

            return ValueTask.FromResult(new LogRead(found, complete));
        }
    }

    public ValueTask<IReadOnlyList<long>> FindIdAsync(string id, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            var found = new List<long>(MaxIdMatches);
            for (int i = _events.Count - 1; i >= 0 && found.Count < MaxIdMatches; i--)
            {
                if (!_events[i].Gone && _events[i].Event.Event.Id == id)
                {
                    found.Add(_events[i].Event.Sequence);
                }
            }

            return ValueTask.FromResult<IReadOnlyList<long>>(found);
        }
    }

    public ValueTask TrimAsync(CancellationToken cancellationToken = default)
    {
        if (retention.MaxAge is { } age)
        {
            lock (_lock)
            {
                var cutoff = DateTimeOffset.UtcNow - age;
                while (FirstKept() is { } oldest && oldest.Event.Time < cutoff)
                {
                    DropOldest();
                }
            }
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    // Lets the oldest kept event go from every topic it is in; what it leaves is the overall floor.
    private void DropOldest()
    {
        var oldest = FirstKept()!;
        foreach (var name in oldest.Event.Topics)
        {
            var topic = _topics[name];
            if (topic.Kept.TryPeek(out var head) && head == oldest)
            {
                Release(topic, topic.Kept.Dequeue());
            }
        }

        _floor = Math.Max(_floor, oldest.Event.Sequence);
    }

    private void Release(TopicLog topic, Slot slot)
    {
        topic.Bytes -= slot.Size;
        topic.Floor = Math.Max(topic.Floor, slot.Event.Sequence);
        if (--slot.TopicsLeft == 0)
        {
            slot.Gone = true;
            _bytes -= slot.Size;
            if (++_gone > 1024 && _gone > _events.Count / 2)
            {
                _events.RemoveAll(s => s.Gone);
                _gone = 0;
            }
        }
    }

    private Slot? FirstKept()
    {
        foreach (var slot in _events)
        {
            if (!slot.Gone)
            {
                return slot;
            }
        }

        return null;
    }

    // The index of the first slot after `after` (slots are in sequence order).
    private int FirstAfter(long after)
    {
        int lo = 0, hi = _events.Count;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (_events[mid].Event.Sequence <= after)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    private sealed class Slot(LoggedEvent logged, long size, int topics)
    {
        public LoggedEvent Event { get; } = logged;
        public long Size { get; } = size;
        public int TopicsLeft { get; set; } = topics;
        public bool Gone { get; set; }
    }

    private sealed class TopicLog
    {
        public Queue<Slot> Kept { get; } = new();
        public long Bytes { get; set; }
        public long Floor { get; set; }
    }
}
