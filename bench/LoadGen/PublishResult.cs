namespace LoadGen;

/// <summary>What the publisher did during one step.</summary>
internal sealed class PublishResult
{
    public long FirstSequence { get; set; }
    public long Sent { get; set; }
    public long Ok { get; set; }
    public long Failed { get; set; }
    public Dictionary<int, long> Statuses { get; set; } = [];
    public double Seconds { get; set; }
    public bool Stalled { get; set; }
    public Histogram RoundTrip { get; } = new();

    public long LastSequence => FirstSequence + Sent - 1;
}
