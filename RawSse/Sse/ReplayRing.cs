namespace RawSse.Sse;

/// <summary>
/// A topic's most recent events, oldest first, in a fixed-size circular buffer. Frames are the same byte
/// arrays that went to live subscribers. Guarded by the hub's lock.
/// </summary>
internal sealed class ReplayRing(int capacity)
{
    private readonly Entry[] _entries = new Entry[Math.Max(capacity, 0)];
    private int _start;
    private int _count;

    /// <summary>The highest sequence pushed out of the ring; a resume point before it has a gap.</summary>
    public long EvictedUpTo { get; private set; }

    public int Count => _count;

    public void Add(long sequence, string id, byte[] frame)
    {
        if (_entries.Length == 0)
        {
            EvictedUpTo = sequence;
            return;
        }

        if (_count == _entries.Length)
        {
            EvictedUpTo = _entries[_start].Sequence;
            _entries[_start] = new Entry(sequence, id, frame);
            _start = (_start + 1) % _entries.Length;
            return;
        }

        _entries[(_start + _count) % _entries.Length] = new Entry(sequence, id, frame);
        _count++;
    }

    /// <summary>Finds the newest event with this id (publishers may reuse ids; the latest one counts).</summary>
    public bool TryFind(string id, out long sequence)
    {
        for (int i = _count - 1; i >= 0; i--)
        {
            ref readonly var entry = ref _entries[(_start + i) % _entries.Length];
            if (entry.Id == id)
            {
                sequence = entry.Sequence;
                return true;
            }
        }

        sequence = 0;
        return false;
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

    internal readonly record struct Entry(long Sequence, string Id, byte[] Frame);
}
