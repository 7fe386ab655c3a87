using System.Net.Sockets;
using System.Runtime.CompilerServices;

namespace RawSse.Sse;

/// <summary>
/// One SSE stream's outgoing side: a bounded queue of encoded frames (shared byte arrays, never copied per
/// subscriber until the write) and a writer that runs only while there is something to send. An idle
/// subscriber holds no task, no timer and no buffer. Queued frames are coalesced into one socket write.
/// The writer sends without waiting (the socket is non-blocking) for as long as the kernel takes the bytes,
/// which is almost always: no task, no thread-pool hop, one system call per delivery. Only a socket whose
/// buffer is full continues with an asynchronous send, and the queue's limits apply while it catches up.
/// </summary>
internal sealed class Subscriber : IThreadPoolWorkItem
{
    private const int CoalesceBytes = 16 * 1024;

    private readonly Socket _socket;
    private readonly SubscriberLimits _limits;
    private readonly HubCounters _counters;

    // Everything marked "guarded" is guarded by this object's monitor (nothing outside this class locks a subscriber):
    // a monitor costs nothing until contended, where a Lock object would cost 40 bytes a stream.
    private FrameQueue _queue;                     // guarded
    private long _queuedBytes;                     // guarded
    private int _replayFrames;                     // guarded: replayed frames still at the queue's head
    private long _replayBytes;                     // guarded
    private bool _writing;                         // guarded: a writer is scheduled or running
    private bool _completing;                      // guarded: end the stream once the queue drains
    private bool _closed;                          // guarded: no more frames are queued or sent
    private TaskCompletionSource? _ended;          // guarded: made on a stop or completion request, set when the writer exits

    private long _writeStartedAt;                  // Environment.TickCount64 while a send is in flight, else 0
    private long _lastWriteAt;                     // Environment.TickCount64 of the last completed send

    public Subscriber(Socket socket, IReadOnlyList<string> topics, SubscriberLimits limits, HubCounters counters, IStreamOwner owner)
    {
        _socket = socket;
        Topics = topics;
        _limits = limits;
        Owner = owner;
        _counters = counters;
        _lastWriteAt = Environment.TickCount64;
        // Synchronous sends now return at once with what the kernel took (or WouldBlock) instead of waiting.
        // Asynchronous operations on the socket (the connection's reads) are unaffected.
        socket.Blocking = false;
    }

    /// <summary>The connection the stream belongs to, which closes it when it fails.</summary>
    public IStreamOwner Owner { get; }

    /// <summary>The topics, in the order asked for; the hub swaps in its shared list for a single topic.</summary>
    public IReadOnlyList<string> Topics { get; internal set; }

    /// <summary>The sequence of the last event handed to this subscriber; guarded by the hub's lock.</summary>
    internal long LastSequence { get; set; }

    public long LastWriteAt => Volatile.Read(ref _lastWriteAt);

    /// <summary>
    /// Queues a frame. Never blocks and never writes (the hub calls this under its lock). Returns false when the
    /// subscriber is gone or was cut for falling behind. <paramref name="mustFlush"/> is true when this call
    /// made the subscriber's writer due: the caller then calls <see cref="Flush"/> (or <see cref="ScheduleFlush"/>)
    /// once, outside its lock; until then later frames only join the queue.
    /// </summary>
    public bool Enqueue(byte[] frame, out bool mustFlush)
    {
        mustFlush = false;
        DisconnectReason? fault = null;
        lock (this)
        {
            if (_closed || _completing)
            {
                return false;
            }

            if (IsFull(frame.Length))
            {
                if (_limits.Policy == SlowConsumerPolicy.Disconnect)
                {
                    _closed = true;
                    fault = DisconnectReason.SlowConsumer;
                }
                else
                {
                    int dropped = 0;
                    while (_queue.Count > 0 && IsFull(frame.Length))
                    {
                        Dequeue();
                        dropped++;
                    }

                    _counters.Dropped(dropped);
                }
            }

            if (fault is null)
            {
                _queue.Enqueue(frame);
                _queuedBytes += frame.Length;
                if (!_writing)
                {
                    _writing = mustFlush = true;
                }

                return true;
            }
        }

        Owner.Abort(fault.Value);
        return false;
    }

    /// <summary>
    /// Sends the response head, on the calling thread, before the subscriber joins the hub (so nothing can
    /// come before it). Like replayed frames it is exempt from the queue limits.
    /// </summary>
    public void SendHead(byte[] head)
    {
        if (QueueExempt([head]))
        {
            Flush();
        }
    }

    /// <summary>
    /// Queues replayed frames ahead of live ones. The ring already bounds them, and they are shared arrays, so
    /// the queue limits do not apply: a resume must not be cut for being a resume.
    /// </summary>
    public void EnqueueReplay(IReadOnlyList<byte[]> frames)
    {
        if (QueueExempt(frames))
        {
            ScheduleFlush();
        }
    }

    // Queues frames the limits do not count. Returns whether the caller must start the writer.
    private bool QueueExempt(IReadOnlyList<byte[]> frames)
    {
        lock (this)
        {
            if (frames.Count == 0 || _closed || _completing)
            {
                return false;
            }

            foreach (var frame in frames)
            {
                _queue.Enqueue(frame);
                _queuedBytes += frame.Length;
                _replayFrames++;
                _replayBytes += frame.Length;
            }

            if (_writing)
            {
                return false;
            }

            _writing = true;
            return true;
        }
    }

    // Called under the lock. Replayed frames do not count: only live ones can make a subscriber a slow consumer.
    private bool IsFull(int incoming) =>
        _queue.Count - _replayFrames >= _limits.MaxQueuedFrames || _queuedBytes - _replayBytes + incoming > _limits.MaxQueuedBytes;

    // Called under the lock.
    private byte[] Dequeue()
    {
        var frame = _queue.Dequeue();
        _queuedBytes -= frame.Length;
        if (_replayFrames > 0)
        {
            _replayFrames--;
            _replayBytes -= frame.Length;
        }

        return frame;
    }

    /// <summary>True when nothing is queued or being sent (the sweep sends heartbeats only then).</summary>
    public bool IsIdle
    {
        get { lock (this) { return !_writing && _queue.Count == 0; } }
    }

    /// <summary>
    /// Ends the stream cleanly: what is queued is still sent, then the send side is shut down (FIN), so the
    /// client sees the end of the response rather than a reset. Completes when that is done or the stream failed.
    /// </summary>
    public Task CompleteAsync()
    {
        lock (this)
        {
            if (_closed)
            {
                return Task.CompletedTask; // the stream already failed or was stopped
            }

            if (!_completing)
            {
                _completing = true;
                if (!_writing)
                {
                    _writing = true;
                    ScheduleFlush();
                }
            }

            return WhenWriterEnds();
        }
    }

    /// <summary>
    /// Stops the stream's writer: nothing more is queued or sent. Completes once no send is in flight, so the
    /// socket can then be closed gracefully (closing it under a pending send would reset the connection).
    /// </summary>
    public Task StopAsync()
    {
        lock (this)
        {
            _closed = true;
            _queue.Clear();
            _queuedBytes = _replayBytes = _replayFrames = 0;
            return _writing ? WhenWriterEnds() : Task.CompletedTask;
        }
    }

    // Called under the lock. Made only when asked for, so a live subscriber holds no completion source.
    private Task WhenWriterEnds()
    {
        _ended ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_writing)
        {
            _ended.TrySetResult();
        }

        return _ended.Task;
    }

    // Called under the lock whenever the writer exits.
    private void WriterExited()
    {
        _writing = false;
        _ended?.TrySetResult();
    }

    /// <summary>True when a send has been in flight for longer than <paramref name="timeoutMs"/> (checked by the shared sweep).</summary>
    public bool IsWriteStalled(long now, long timeoutMs)
    {
        long started = Volatile.Read(ref _writeStartedAt);
        return started != 0 && now - started > timeoutMs;
    }

    /// <summary>Runs <see cref="Flush"/> on the thread pool, for callers that must not do the sending themselves.</summary>
    public void ScheduleFlush() => ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);

    void IThreadPoolWorkItem.Execute() => Flush();

    /// <summary>
    /// The writer, run by whoever made it due (see <see cref="Enqueue"/>): sends the queue with non-blocking sends
    /// on the calling thread. When the socket cannot take everything at once, the rest and whatever is queued
    /// after it go out asynchronously, and this returns.
    /// </summary>
    public void Flush()
    {
        byte[]? batch = null;
        try
        {
            while (true)
            {
                ReadOnlyMemory<byte> payload;
                lock (this)
                {
                    if (!TryTakeNext(ref batch, out payload, out bool drained))
                    {
                        if (drained)
                        {
                            break;
                        }

                        return;
                    }
                }

                int sent = _socket.Send(payload.Span, SocketFlags.None, out var error);
                if (error == SocketError.Success && sent == payload.Length)
                {
                    Volatile.Write(ref _lastWriteAt, Environment.TickCount64);
                    continue;
                }

                if (error is not (SocketError.Success or SocketError.WouldBlock))
                {
                    throw new SocketException((int)error);
                }

                // The socket's buffer is full: the asynchronous writer takes over the rest (and the batch buffer).
                _ = WriteLoopAsync(payload[sent..], batch);
                batch = null;
                return;
            }

            EndStream();
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or IOException)
        {
            Fail();
        }
        finally
        {
            ReturnBatch(batch);
        }
    }

    // Sends `pending`, then the rest of the queue, awaiting each send; the sweep's write timeout watches it.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask WriteLoopAsync(ReadOnlyMemory<byte> pending, byte[]? batch)
    {
        try
        {
            var payload = pending;
            while (true)
            {
                Volatile.Write(ref _writeStartedAt, Environment.TickCount64);
                while (!payload.IsEmpty)
                {
                    int sent = await _socket.SendAsync(payload, SocketFlags.None).ConfigureAwait(false);
                    payload = payload[sent..];
                }

                long now = Environment.TickCount64;
                Volatile.Write(ref _writeStartedAt, 0);
                Volatile.Write(ref _lastWriteAt, now);
                lock (this)
                {
                    if (!TryTakeNext(ref batch, out payload, out bool drained))
                    {
                        if (drained)
                        {
                            break;
                        }

                        return;
                    }
                }
            }

            EndStream();
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or IOException)
        {
            Volatile.Write(ref _writeStartedAt, 0);
            Fail();
        }
        finally
        {
            ReturnBatch(batch);
        }
    }

    // Called under the lock. True with the next payload to send. False when the writer is done: it has exited
    // (closed, or nothing left), or `drained` when the stream is completing and everything has been sent.
    private bool TryTakeNext(ref byte[]? batch, out ReadOnlyMemory<byte> payload, out bool drained)
    {
        payload = default;
        drained = false;
        if (_closed)
        {
            WriterExited();
            return false;
        }

        if (_queue.Count == 0)
        {
            if (_completing)
            {
                drained = true;
            }
            else
            {
                WriterExited();
            }

            return false;
        }

        payload = TakeBatch(ref batch);
        return true;
    }

    // Completing and drained: half-close so the client reads a clean end of stream.
    private void EndStream()
    {
        _socket.Shutdown(SocketShutdown.Send);
        lock (this)
        {
            WriterExited();
        }
    }

    private void Fail()
    {
        lock (this)
        {
            _closed = true;
            WriterExited();
            _queue.Clear();
            _queuedBytes = _replayBytes = _replayFrames = 0;
        }

        Owner.Abort(DisconnectReason.WriteFailed);
    }

    private static void ReturnBatch(byte[]? batch)
    {
        if (batch is not null)
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(batch);
        }
    }

    // Called under the lock with a non-empty queue. One frame goes out as it is (no copy); several are
    // copied into one pooled buffer so they leave in a single send.
    private ReadOnlyMemory<byte> TakeBatch(ref byte[]? batch)
    {
        var first = Dequeue();
        if (_queue.Count == 0 || first.Length + _queue.Peek().Length > CoalesceBytes)
        {
            return first;
        }

        batch ??= System.Buffers.ArrayPool<byte>.Shared.Rent(CoalesceBytes);
        first.CopyTo(batch, 0);
        int length = first.Length;
        while (_queue.Count > 0 && length + _queue.Peek().Length <= batch.Length)
        {
            var next = Dequeue();
            next.CopyTo(batch, length);
            length += next.Length;
        }

        return batch.AsMemory(0, length);
    }
}
