using RawSse.Store;

namespace RawSse.Tests;

/// <summary>An <see cref="IEventLogSink"/> that keeps what it was given, in the order given, for a test to check.</summary>
internal sealed class RecordingSink : IEventLogSink
{
    private readonly Lock _lock = new();
    private readonly List<LoggedEvent> _applied = []; // guarded by _lock

    public void Apply(LoggedEvent logged)
    {
        lock (_lock)
        {
            _applied.Add(logged);
        }
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
