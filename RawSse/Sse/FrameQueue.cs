using System.Buffers;

namespace RawSse.Sse;

/// <summary>
/// A subscriber's queue of frames, first in, first out, with the counts its limits are checked against. Exempt
/// frames (the head and a replay, queued before any live frame) are counted apart: only live frames can make a
/// subscriber a slow consumer. The head lives in a field, and a <see cref="Queue{T}"/> is made only when a second
/// frame waits behind it, so the many streams that never have more than one frame queued carry no queue object.
/// A mutable struct: keep it in a field, never copy it. Guarded by its subscriber's lock.
/// </summary>
internal struct FrameQueue
{
    private byte[]? _head;          // null only when the queue is empty
    private long _headPublishedAt;  // the head's QueuedFrame.PublishedAt, kept apart so the head needs no queue
    private Queue<QueuedFrame>? _behind; // the frames after the head, once there have been two at a time
    private long _bytes;
    private int _exemptFrames;      // exempt frames still at the queue's head
    private long _exemptBytes;

    public readonly int Count => _head is null ? 0 : 1 + (_behind?.Count ?? 0);

    /// <param name="publishedAt">When the hub accepted the frame's event (<see cref="QueuedFrame.PublishedAt"/>), or 0.</param>
    public void Enqueue(byte[] frame, long publishedAt = 0, bool exempt = false)
    {
        if (_head is null)
        {
            _head = frame;
            _headPublishedAt = publishedAt;
        }
        else
        {
            (_behind ??= new Queue<QueuedFrame>()).Enqueue(new QueuedFrame(frame, publishedAt));
        }

        _bytes += frame.Length;
        if (exempt)
        {
            _exemptFrames++;
            _exemptBytes += frame.Length;
        }
    }

    /// <summary>
    /// Adds a live frame within <paramref name="limits"/>. When the queue is full, drop-oldest makes room
    /// (<paramref name="dropped"/> counts the frames it let go) and disconnect refuses the frame: false, and the queue
    /// is emptied, since nothing more will be sent.
    /// </summary>
    public bool TryAdd(byte[] frame, long publishedAt, SubscriberLimits limits, out int dropped)
    {
        dropped = 0;
        while (IsFull(limits, frame.Length))
        {
            if (limits.Policy == SlowConsumerPolicy.Disconnect)
            {
                Clear();
                return false;
            }

            if (Count == 0)
            {
                break;
            }

            Dequeue();
            dropped++;
        }

        Enqueue(frame, publishedAt);
        return true;
    }

    // One more live frame of `incoming` bytes would go past the limits; exempt frames do not count.
    private readonly bool IsFull(SubscriberLimits limits, int incoming) =>
        Count - _exemptFrames >= limits.MaxQueuedFrames || _bytes - _exemptBytes + incoming > limits.MaxQueuedBytes;

    public byte[] Dequeue() => Dequeue(out _);

    private byte[] Dequeue(out long publishedAt)
    {
        var frame = _head ?? throw new InvalidOperationException("the frame queue is empty");
        publishedAt = _headPublishedAt;
        (_head, _headPublishedAt) = _behind is { Count: > 0 } ? _behind.Dequeue() : default;
        _bytes -= frame.Length;
        if (_exemptFrames > 0)
        {
            _exemptFrames--;
            _exemptBytes -= frame.Length;
        }

        return frame;
    }

    public void Clear()
    {
        _head = null;
        _headPublishedAt = 0;
        _behind?.Clear();
        _bytes = _exemptBytes = _exemptFrames = 0;
    }

    /// <summary>
    /// Takes the next payload from a non-empty queue. One frame goes out as it is (no copy); several small ones are
    /// copied into one pooled buffer of <paramref name="coalesceBytes"/> (rented once into <paramref name="batch"/>)
    /// so they leave in a single send. <paramref name="oldestPublishedAt"/> is the earliest
    /// <see cref="QueuedFrame.PublishedAt"/> among the frames taken (0: none of them is a publish).
    /// </summary>
    public ReadOnlyMemory<byte> TakeBatch(ref byte[]? batch, int coalesceBytes, out long oldestPublishedAt)
    {
        var first = Dequeue(out oldestPublishedAt);
        if (_head is null || first.Length + _head.Length > coalesceBytes)
        {
            return first;
        }

        batch ??= ArrayPool<byte>.Shared.Rent(coalesceBytes);
        first.CopyTo(batch, 0);
        int length = first.Length;
        while (_head is not null && length + _head.Length <= batch.Length)
        {
            var next = Dequeue(out long publishedAt);
            if (publishedAt != 0 && (oldestPublishedAt == 0 || publishedAt < oldestPublishedAt))
            {
                oldestPublishedAt = publishedAt;
            }

            next.CopyTo(batch, length);
            length += next.Length;
        }

        return batch.AsMemory(0, length);
    }
}
