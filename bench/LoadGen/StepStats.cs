using System.Diagnostics;

namespace LoadGen;

/// <summary>
/// What one process's subscribers saw during one step (a publish rate, or a ticker window). Shared by every
/// receive loop of the process: recording is lock-free except for the per-tick table, touched twice a second.
/// </summary>
internal sealed class StepStats(int id, long firstSequence, int capacity, long tickPeriodTicks, int targets = 1)
{
    private static readonly double s_microsPerTick = 1_000_000.0 / Stopwatch.Frequency;

    private readonly long[] _completionMicros = new long[capacity]; // per event: the latency of its last delivery
    private readonly long[] _firstMicros = NoneYet(capacity);       // per event: the latency of its first delivery (long.MaxValue: none yet)
    private readonly Dictionary<long, TickSpan> _ticks = [];       // guarded by itself

    // Per server port when there are several; with one, its histogram is Latency itself and a delivery is recorded once.
    private readonly Histogram[] _latencyByTarget = targets == 1 ? [] : [.. Enumerable.Range(0, targets).Select(_ => new Histogram())];
    private long _ticksMissed;

    public int Id { get; } = id;
    public long FirstSequence { get; } = firstSequence;
    public Histogram Latency { get; } = new();
    public Histogram TickIntervals { get; } = new();
    public Histogram TickJitter { get; } = new();

    public Histogram LatencyOf(int target) => _latencyByTarget.Length > 1 ? _latencyByTarget[target] : Latency;

    public static long ToMicros(long ticks) => (long)(ticks * s_microsPerTick);

    public void Record(long sequence, long sentAt, long receivedAt, int target)
    {
        long micros = ToMicros(receivedAt - sentAt);
        Latency.Record(micros);
        if (_latencyByTarget.Length > 1)
        {
            _latencyByTarget[target].Record(micros);
        }

        long index = sequence - FirstSequence;
        if (index < _completionMicros.Length)
        {
            AtomicExtreme.Max(ref _completionMicros[index], micros);
            AtomicExtreme.Min(ref _firstMicros[index], micros);
        }
    }

    public void RecordTickInterval(long ticks)
    {
        TickIntervals.Record(ToMicros(ticks));
        TickJitter.Record(Math.Abs(ToMicros(ticks - tickPeriodTicks)));
    }

    public void TicksMissed(long count) => Interlocked.Add(ref _ticksMissed, count);

    public void RecordTick(long tickId, long receivedAt)
    {
        lock (_ticks)
        {
            if (_ticks.TryGetValue(tickId, out var span))
            {
                span.First = Math.Min(span.First, receivedAt);
                span.Last = Math.Max(span.Last, receivedAt);
                span.Count++;
            }
            else
            {
                _ticks[tickId] = new TickSpan { Id = tickId, First = receivedAt, Last = receivedAt, Count = 1 };
            }
        }
    }

    public long[] CompletionMicros(long events) => _completionMicros.AsSpan(0, (int)Math.Clamp(events, 0, _completionMicros.Length)).ToArray();

    /// <summary>Per event, the latency of its first delivery; 0 for an event nobody received.</summary>
    public long[] FirstMicros(long events) =>
        [.. _firstMicros.Take((int)Math.Clamp(events, 0, _firstMicros.Length)).Select(m => m == long.MaxValue ? 0 : Math.Max(1, m))];

    private static long[] NoneYet(int capacity)
    {
        var slots = new long[capacity];
        Array.Fill(slots, long.MaxValue);
        return slots;
    }

    public long TickMisses => Volatile.Read(ref _ticksMissed);

    public List<TickSpan> Ticks()
    {
        lock (_ticks)
        {
            return [.. _ticks.Values.OrderBy(t => t.Id)];
        }
    }
}
