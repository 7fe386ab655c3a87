namespace RawSse.Sse;

/// <summary>
/// A subscriber's queue of frames: first in, first out. The head lives in a field, and a <see cref="Queue{T}"/> is made
/// only when a second frame waits behind it, so the many streams that never have more than one frame queued at a time
/// carry no queue object. A mutable struct: keep it in a field, never copy it.
/// </summary>
internal struct FrameQueue
{
    private byte[]? _head;          // null only when the queue is empty
    private Queue<byte[]>? _behind; // the frames after the head, once there have been two at a time

    public readonly int Count => _head is null ? 0 : 1 + (_behind?.Count ?? 0);

    public void Enqueue(byte[] frame)
    {
        if (_head is null)
        {
            _head = frame;
        }
        else
        {
            (_behind ??= new Queue<byte[]>()).Enqueue(frame);
        }
    }

    /// <summary>The frame at the head; the queue must not be empty.</summary>
    public readonly byte[] Peek() => _head ?? throw new InvalidOperationException("the frame queue is empty");

    public byte[] Dequeue()
    {
        var frame = Peek();
        _head = _behind is { Count: > 0 } ? _behind.Dequeue() : null;
        return frame;
    }

    public void Clear()
    {
        _head = null;
        _behind?.Clear();
    }
}
