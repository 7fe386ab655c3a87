namespace LoadGen;

/// <summary>One server port's share of a step (one node of a cluster): its subscribers and what they received.</summary>
internal sealed class TargetResult
{
    public int Subscribers { get; set; }
    public int Closed { get; set; }
    public long Received { get; set; }
    public long Missing { get; set; }
    public HistogramData? Latency { get; set; }

    public void Add(TargetResult other)
    {
        Subscribers += other.Subscribers;
        Closed += other.Closed;
        Received += other.Received;
        Missing += other.Missing;
        var latency = Histogram.FromData(Latency);
        latency.Add(Histogram.FromData(other.Latency));
        Latency = latency.ToData();
    }
}
