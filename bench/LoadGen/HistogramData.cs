namespace LoadGen;

/// <summary>A histogram on the wire between shard processes: sparse [bucket, count] pairs.</summary>
internal sealed class HistogramData
{
    public List<long[]> Buckets { get; set; } = [];
    public long Min { get; set; }
    public long Max { get; set; }
}
