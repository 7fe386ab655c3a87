using System.Buffers;

namespace RawSse.Sse;

/// <summary>
/// The subscribers whose writer a publish made due, handed to the thread pool in chunks as they fill. A chunk flushes
/// its subscribers one after the other; several chunks can run on several cores. Held (<see cref="Held"/>), full
/// chunks wait for <see cref="Dispatch"/> instead: a log's batch of events is queued to every subscriber first and sent
/// once the publishers have their answers. A mutable struct: keep it in one place.
/// </summary>
internal struct DueWriters
{
    private const int ChunkSize = 256;
    private Subscriber[]? _items;
    private int _count;
    private List<FlushChunk>? _held;

    public static DueWriters Held() => new() { _held = [] };

    public void Add(Subscriber subscriber)
    {
        _items ??= ArrayPool<Subscriber>.Shared.Rent(ChunkSize);
        _items[_count++] = subscriber;
        if (_count == _items.Length)
        {
            Seal();
        }
    }

    /// <summary>Hands what is gathered (and every held chunk) to the thread pool; called once at the end.</summary>
    public void Dispatch()
    {
        if (_held is null)
        {
            Seal();
            return;
        }

        var held = _held;
        _held = null;
        Seal();
        foreach (var chunk in held)
        {
            ThreadPool.UnsafeQueueUserWorkItem(chunk, preferLocal: false);
        }

        _held = [];
    }

    private void Seal()
    {
        if (_items is null)
        {
            return;
        }

        var chunk = new FlushChunk(_items, _count);
        _items = null;
        _count = 0;
        if (_held is not null)
        {
            _held.Add(chunk);
        }
        else
        {
            ThreadPool.UnsafeQueueUserWorkItem(chunk, preferLocal: false);
        }
    }
}
