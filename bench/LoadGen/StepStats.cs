using System.Diagnostics;

namespace LoadGen;

/// <summary>
/// What one process's subscribers saw during one step (a publish rate, or a ticker window). Shared by every
/// receive loop of the process: recording is lock-free except for the per-tick table, touched twice a second.
/// </summary>
internal sealed class StepStats(int id, long firstSequence, int capacity, long tickPeriodTicks)
{
    private static readonly double s_microsPerTick = 1_000_000.0 / Stopwatch.Frequency;

    private readonly long[] _completionMicros = new long[capacity]; // per event: the latency of its last delivery
    private readonly Dictionary<long, TickSpan> _ticks = [];       // guarded by itself
    private long _ticksMissed;

    public int Id { get; } = id;
    public long FirstSequence { get; } = firstSequence;
    public Histogram Latency { get; } = new();
    public Histogram TickIntervals { get; } = new();
    public Histogram TickJitter { get; } = new();

    public static long ToMicros(long ticks) => (long)(ticks * s_microsPerTick);

    public void Record(long sequence, long sentAt, long receivedAt)
    {
        long micros = ToMicros(receivedAt - sentAt);
        Latency.Record(micros);
        long index = sequence - FirstSequence;
        if (index < _completionMicros.Length)
        {
            ref long slot = ref _completionMicros[index];
            long seen = Volatile.Read(ref slot);
            while (micros > seen)
            {
                long previous = Interlocked.CompareExchange(ref slot, micros, seen);
                if (previous == seen)
                {
                    break;
                }

                seen = previous;
            }
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

    public long TickMisses => Volatile.Read(ref _ticksMissed);

    public List<TickSpan> Ticks()
    {
        lock (_ticks)
        {
            return [.. _ticks.Values.OrderBy(t => t.Id)];
        }
    }
}
