using RawSse.Store;

namespace RawSse.Tests;

/// <summary>An <see cref="IEventLogSink"/> that keeps what it was given, in the order given, for a test to check.</summary>
internal sealed class RecordingSink : IEventLogSink
{
    private readonly Lock _lock = new();
    private readonly List<LoggedEvent> _applied = []; // guarded by _lock

    private readonly List<(long After, long Through)> _lost = []; // guarded by _lock

    /// <summary>When set, the first <see cref="Apply"/> waits for it (holds a log's follower back), at most 30 s.</summary>
    public ManualResetEventSlim? Gate { get; init; }

    /// <summary>Set once an <see cref="Apply"/> is waiting at the <see cref="Gate"/>.</summary>
    public ManualResetEventSlim AtGate { get; } = new();

    public void Apply(LoggedEvent logged)
    {
        if (Gate is { } gate && !gate.IsSet)
        {
            AtGate.Set();
            gate.Wait(TimeSpan.FromSeconds(30));
        }

        lock (_lock)
        {
            _applied.Add(logged);
        }
    }

    public void Lost(long after, long through)
    {
        lock (_lock)
        {
            _lost.Add((after, through));
        }
    }

    /// <summary>The ranges the log reported lost, in order.</summary>
    public IReadOnlyList<(long After, long Through)> LostRanges
    {
        get { lock (_lock) { return [.. _lost]; } }
    }

    /// <summary>Batches released (each after its Apply calls).</summary>
    public int Releases { get; private set; }

    public void Release()
    {
        lock (_lock)
        {
            Releases++;
        }
    }

    public IReadOnlyList<LoggedEvent> Applied
    {
        get { lock (_lock) { return [.. _applied]; } }
    }

    public bool Has(long sequence)
    {
        lock (_lock)
        {
            return _applied.Exists(e => e.Sequence == sequence);
        }
    }
}
