using RawSse.Store;

namespace RawSse.Tests;

/// <summary>
/// A node behind its shared store, held there by the test: appends go into the store (an inner
/// <see cref="MemoryEventLog"/>) at once, as another node's would, but this node applies them (its sink gets them, its
/// <see cref="Head"/> moves) only when the test calls <see cref="ApplyAll"/>. <see cref="CatchUpAsync"/> waits for that,
/// as <see cref="NatsEventLog"/> waits for its follower.
/// </summary>
internal sealed class HeldBackEventLog : IEventLog, IEventLogSink
{
    private readonly MemoryEventLog _store = new();
    private readonly Lock _lock = new();
    private readonly Queue<LoggedEvent> _held = new();                       // guarded by _lock
    private TaskCompletionSource _applied = new(TaskCreationOptions.RunContinuationsAsynchronously); // guarded by _lock
    private IEventLogSink? _sink;
    private long _head;

    public HeldBackEventLog() => _store.Attach(this);

    public string Epoch => _store.Epoch;

    public long Head => Volatile.Read(ref _head);

    /// <summary>Callers of <see cref="CatchUpAsync"/> waiting now.</summary>
    public int Waiting { get; private set; }

    public void Attach(IEventLogSink sink) => _sink = sink;

    public ValueTask<long> AppendAsync(IReadOnlyList<NewEvent> events, CancellationToken cancellationToken = default) => _store.AppendAsync(events, cancellationToken);

    /// <summary>This node catches up: everything held goes to its sink, in order.</summary>
    public void ApplyAll()
    {
        TaskCompletionSource applied;
        lock (_lock)
        {
            while (_held.TryDequeue(out var logged))
            {
                _sink?.Apply(logged);
                Volatile.Write(ref _head, logged.Sequence);
            }

            _sink?.Release();
            applied = _applied;
            _applied = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        applied.TrySetResult();
    }

    /// <summary>This node lagged past the store's retention: what it holds is gone before it applied it (the sink is told).</summary>
    public void LoseAll()
    {
        lock (_lock)
        {
            long through = Head;
            while (_held.TryDequeue(out var logged))
            {
                through = logged.Sequence;
            }

            if (through > Head)
            {
                _sink?.Lost(Head, through);
                Volatile.Write(ref _head, through);
            }
        }
    }

    public async ValueTask<bool> CatchUpAsync(long position, CancellationToken cancellationToken = default)
    {
        if (position > _store.Head)
        {
            return false;
        }

        while (Head < position)
        {
            Task applied;
            lock (_lock)
            {
                applied = _applied.Task;
                Waiting++;
            }

            await applied.WaitAsync(TimeSpan.FromSeconds(10), cancellationToken);
        }

        return true;
    }

    public async ValueTask<LogRead> ReadAfterAsync(long after, IReadOnlyCollection<string>? topics, int max, CancellationToken cancellationToken = default)
    {
        long head = Head; // as a node's read: up to what it applied when the read began
        var read = await _store.ReadAfterAsync(after, topics, max, cancellationToken);
        return read with { Events = [.. read.Events.Where(e => e.Sequence <= head)] };
    }

    public ValueTask<IReadOnlyList<long>> FindIdAsync(string id, CancellationToken cancellationToken = default) => _store.FindIdAsync(id, cancellationToken);

    public ValueTask TrimAsync(CancellationToken cancellationToken = default) => _store.TrimAsync(cancellationToken);

    public ValueTask DisposeAsync() => _store.DisposeAsync();

    void IEventLogSink.Apply(LoggedEvent logged)
    {
        lock (_lock)
        {
            _held.Enqueue(logged);
        }
    }

    void IEventLogSink.Release()
    {
    }
}
