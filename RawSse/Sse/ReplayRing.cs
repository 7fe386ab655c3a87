namespace RawSse.Sse;

/// <summary>
/// A topic's most recent events, oldest first, in a circular buffer that grows on demand (a topic that keeps nothing
/// holds no array) up to a count and a byte bound. Frames are the same byte arrays that went to live subscribers.
/// Guarded by the hub's lock.
/// </summary>
internal sealed class ReplayRing(int maxCount, long maxBytes)
{
    /// <summary>What an entry is charged beyond its frame: the entry, the id string's header, the array's header.</summary>
    public const int EntryOverheadBytes = 64;

    private Entry[] _entries = [];
    private int _start;
    private int _count;

    /// <summary>The highest sequence that left the ring (or never entered it); a resume point before it has a gap.</summary>
    public long EvictedUpTo { get; private set; }

    public int Count => _count;

    /// <summary>The bytes the ring is charged for (see <see cref="CostOf"/>).</summary>
    public long Bytes { get; private set; }

    /// <summary>The sequence of the oldest event kept, or <see cref="long.MaxValue"/> when none is.</summary>
    public long OldestSequence => _count == 0 ? long.MaxValue : _entries[_start].Sequence;

    public static long CostOf(byte[] frame, string? id) => frame.Length + (2L * (id?.Length ?? 0)) + EntryOverheadBytes;

    /// <summary>
    /// Keeps an event, letting the oldest go to stay within the bounds. An event that alone is over the byte bound is
    /// not kept, and neither is anything older (a resume from before it could not be served without it).
    /// </summary>
    /// <param name="privateTopics">A private update's topics (whoever replays it must be allowed one of them); null for a public one.</param>
    public AddResult Add(long sequence, string? id, byte[] frame, string[]? privateTopics = null)
    {
        long cost = CostOf(frame, id);
        var freed = default(AddResult);
        bool keep = maxCount > 0 && cost <= maxBytes;
        while (_count > 0 && (!keep || _count >= maxCount || Bytes + cost > maxBytes))
        {
            freed = new AddResult(false, freed.FreedBytes + EvictOldest(), freed.FreedCount + 1);
        }

        if (!keep)
        {
            EvictedUpTo = sequence;
            return freed;
        }

        if (_count == _entries.Length)
        {
            Grow();
        }

        _entries[(_start + _count) % _entries.Length] = new Entry(sequence, id, frame, privateTopics, cost);
        _count++;
        Bytes += cost;
        return freed with { Kept = true };
    }

    /// <summary>Lets the oldest event go; returns the bytes it was charged. The ring must not be empty.</summary>
    public long EvictOldest()
    {
        var entry = _entries[_start];
        _entries[_start] = default;
        _start = (_start + 1) % _entries.Length;
        _count--;
        EvictedUpTo = entry.Sequence;
        long cost = entry.Cost; // kept in the entry: the frame of an event this old is no longer in the cache
        Bytes -= cost;
        if (_count == 0)
        {
            _entries = [];
            _start = 0;
        }

        return cost;
    }

    /// <summary>
    /// Finds the event a custom id names. <see cref="IdMatch.Ambiguous"/> when several kept events carry it
    /// (publishers may reuse ids): which one the client saw cannot be known, so the caller answers with a reset.
    /// </summary>
    public IdMatch TryFind(string id, out long sequence)
    {
        sequence = 0;
        var match = IdMatch.None;
        for (int i = _count - 1; i >= 0; i--)
        {
            ref readonly var entry = ref _entries[(_start + i) % _entries.Length];
            if (entry.Id == id)
            {
                if (match == IdMatch.Found)
                {
                    return IdMatch.Ambiguous;
                }

                match = IdMatch.Found;
                sequence = entry.Sequence;
            }
        }

        return match;
    }

    /// <summary>Appends the events after <paramref name="sequence"/>, oldest first.</summary>
    public void CopyAfter(long sequence, List<Entry> into)
    {
        for (int i = 0; i < _count; i++)
        {
            ref readonly var entry = ref _entries[(_start + i) % _entries.Length];
            if (entry.Sequence > sequence)
            {
                into.Add(entry);
            }
        }
    }

    private void Grow()
    {
        var grown = new Entry[Math.Min(maxCount, Math.Max(4, _entries.Length * 2))];
        for (int i = 0; i < _count; i++)
        {
            grown[i] = _entries[(_start + i) % _entries.Length];
        }

        _entries = grown;
        _start = 0;
    }

    internal readonly record struct Entry(long Sequence, string? Id, byte[] Frame, string[]? PrivateTopics, long Cost);

    /// <summary>Whether the event was kept, and what left the ring to make room (or because it could not be kept).</summary>
    internal readonly record struct AddResult(bool Kept, long FreedBytes, int FreedCount);
}
