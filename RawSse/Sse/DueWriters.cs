using System.Buffers;

namespace RawSse.Sse;

/// <summary>
/// The subscribers whose writer a publish made due, handed to the thread pool in chunks as they fill. A chunk flushes
/// its subscribers one after the other; several chunks can run on several cores. A mutable struct: keep it in a local.
/// </summary>
internal struct DueWriters
{
    private const int ChunkSize = 256;
    private Subscriber[]? _items;
    private int _count;

    public void Add(Subscriber subscriber)
    {
        _items ??= ArrayPool<Subscriber>.Shared.Rent(ChunkSize);
        _items[_count++] = subscriber;
        if (_count == _items.Length)
        {
            Dispatch();
        }
    }

    /// <summary>Hands what is gathered to the thread pool; called once at the end (full chunks have gone already).</summary>
    public void Dispatch()
    {
        if (_items is not null)
        {
            ThreadPool.UnsafeQueueUserWorkItem(new FlushChunk(_items, _count), preferLocal: false);
            _items = null;
            _count = 0;
        }
    }
}
