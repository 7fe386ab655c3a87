using System.Numerics;

namespace LoadGen;

/// <summary>
/// A log-linear histogram of non-negative values (microseconds here), in the spirit of HdrHistogram:
/// exact below 256, then 128 buckets per power of two, so any recorded value is reported within 0.8 %.
/// Recording is lock-free (one interlocked add), so receive loops on several threads can share one.
/// </summary>
internal sealed class Histogram
{
    private const int LinearBuckets = 256;
    private const int SubBuckets = 128;
    private const int MaxExponent = 40;
    private const int BucketCount = LinearBuckets + MaxExponent * SubBuckets;

    private readonly long[] _counts = new long[BucketCount];
    private long _total;
    private long _max;
    private long _min = long.MaxValue;

    public long Count => Volatile.Read(ref _total);
    public long Max => Count == 0 ? 0 : Volatile.Read(ref _max);
    public long Min => Count == 0 ? 0 : Volatile.Read(ref _min);

    public void Record(long value)
    {
        if (value < 0)
        {
            value = 0;
        }

        Interlocked.Increment(ref _counts[IndexOf(value)]);
        Interlocked.Increment(ref _total);
        AtomicExtreme.Max(ref _max, value);
        AtomicExtreme.Min(ref _min, value);
    }

    /// <summary>The value at <paramref name="percentile"/> (0..100): the highest value of the bucket that reaches it, capped at the maximum seen.</summary>
    public long Percentile(double percentile)
    {
        long total = Count;
        if (total == 0)
        {
            return 0;
        }

        long rank = Math.Max(1, (long)Math.Ceiling(percentile / 100.0 * total));
        long seen = 0;
        for (int i = 0; i < BucketCount; i++)
        {
            seen += _counts[i];
            if (seen >= rank)
            {
                return Math.Min(HighestValueOf(i), Max);
            }
        }

        return Max;
    }

    /// <summary>Samples in buckets wholly above <paramref name="value"/> (to within the bucket width).</summary>
    public long CountAbove(long value)
    {
        long count = 0;
        for (int i = IndexOf(value) + 1; i < BucketCount; i++)
        {
            count += _counts[i];
        }

        return count;
    }

    public void Add(Histogram other)
    {
        for (int i = 0; i < BucketCount; i++)
        {
            _counts[i] += other._counts[i];
        }

        _total += other._total;
        if (other.Count > 0)
        {
            _max = Math.Max(_max, other._max);
            _min = Math.Min(_min, other._min);
        }
    }

    /// <summary>Non-empty buckets as [index, count] pairs, plus min and max, for the shard protocol.</summary>
    public HistogramData ToData()
    {
        var buckets = new List<long[]>();
        for (int i = 0; i < BucketCount; i++)
        {
            if (_counts[i] != 0)
            {
                buckets.Add([i, _counts[i]]);
            }
        }

        return new HistogramData { Buckets = buckets, Min = Min, Max = Max };
    }

    public static Histogram FromData(HistogramData? data)
    {
        var h = new Histogram();
        if (data is null)
        {
            return h;
        }

        foreach (var pair in data.Buckets)
        {
            h._counts[pair[0]] += pair[1];
            h._total += pair[1];
        }

        if (h._total > 0)
        {
            h._max = data.Max;
            h._min = data.Min;
        }

        return h;
    }

    private static int IndexOf(long value)
    {
        if (value < LinearBuckets)
        {
            return (int)value;
        }

        int msb = 63 - BitOperations.LeadingZeroCount((ulong)value);
        int exponent = msb - 7; // >= 1: value >> exponent lies in [128, 255]
        if (exponent > MaxExponent)
        {
            return BucketCount - 1;
        }

        return LinearBuckets + (exponent - 1) * SubBuckets + (int)((value >> exponent) - SubBuckets);
    }

    private static long HighestValueOf(int index)
    {
        if (index < LinearBuckets)
        {
            return index;
        }

        int exponent = (index - LinearBuckets) / SubBuckets + 1;
        long mantissa = (index - LinearBuckets) % SubBuckets + SubBuckets;
        return ((mantissa + 1) << exponent) - 1;
    }
}
