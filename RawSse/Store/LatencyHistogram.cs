using System.Diagnostics;

namespace RawSse.Store;

/// <summary>
/// A lock-free latency histogram with fixed bucket bounds (Prometheus style: each bucket counts the samples at or
/// below its bound), a count and a sum; recording allocates nothing.
/// </summary>
public sealed class LatencyHistogram
{
    /// <summary>The bounds of a store's append latency, in seconds: a round trip to a disk or another node.</summary>
    public static IReadOnlyList<double> DefaultBounds { get; } = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private readonly double[] _bounds; // an array, not the interface: Record walks it on every sample
    private readonly long[] _buckets;
    private long _count;
    private long _sumTicks;

    public LatencyHistogram()
        : this(DefaultBounds)
    {
    }

    /// <param name="bounds">The buckets' upper bounds in seconds, ascending.</param>
    public LatencyHistogram(IReadOnlyList<double> bounds)
    {
        _bounds = [.. bounds];
        _buckets = new long[_bounds.Length];
    }

    /// <summary>The buckets' upper bounds, in seconds; a sample above the last counts only in the total.</summary>
    public IReadOnlyList<double> Bounds => _bounds;

    /// <summary>Records the time since <paramref name="startTimestamp"/> (a <see cref="Stopwatch.GetTimestamp"/>).</summary>
    public void RecordSince(long startTimestamp) => Record(Stopwatch.GetTimestamp() - startTimestamp);

    /// <summary>Records a sample of <paramref name="elapsedTicks"/> <see cref="Stopwatch"/> ticks.</summary>
    public void Record(long elapsedTicks)
    {
        double seconds = (double)elapsedTicks / Stopwatch.Frequency;
        for (int i = 0; i < _buckets.Length; i++)
        {
            if (seconds <= _bounds[i])
            {
                Interlocked.Increment(ref _buckets[i]);
                break;
            }
        }

        Interlocked.Add(ref _sumTicks, elapsedTicks);
        Interlocked.Increment(ref _count);
    }

    public long Count => Volatile.Read(ref _count);

    public double SumSeconds => (double)Volatile.Read(ref _sumTicks) / Stopwatch.Frequency;

    /// <summary>The samples at or below <see cref="Bounds"/>[<paramref name="bucket"/>] (cumulative, as Prometheus wants).</summary>
    public long CumulativeCount(int bucket)
    {
        long n = 0;
        for (int i = 0; i <= bucket; i++)
        {
            n += Volatile.Read(ref _buckets[i]);
        }

        return n;
    }
}
