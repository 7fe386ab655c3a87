using System.Buffers;

namespace RawSse.Sse;

/// <summary>One chunk of <see cref="DueWriters"/>: flushes its subscribers one after the other, then returns its array.</summary>
internal sealed class FlushChunk(Subscriber[] items, int count) : IThreadPoolWorkItem
{
    public void Execute()
    {
        for (int i = 0; i < count; i++)
        {
            items[i].Flush();
        }

        Array.Clear(items, 0, count);
        ArrayPool<Subscriber>.Shared.Return(items);
    }
}
