namespace LoadGen;

/// <summary>How subscribing went: streams open (status 200) and why the others are not.</summary>
internal sealed class ConnectSummary
{
    public int Requested { get; set; }
    public int Connected { get; set; }
    public int Failed { get; set; }
    public double Seconds { get; set; }
    public Dictionary<string, int> Failures { get; set; } = [];

    public void Add(ConnectSummary other)
    {
        Requested += other.Requested;
        Connected += other.Connected;
        Failed += other.Failed;
        Seconds = Math.Max(Seconds, other.Seconds);
        foreach (var (reason, count) in other.Failures)
        {
            Failures[reason] = Failures.GetValueOrDefault(reason) + count;
        }
    }

    public override string ToString()
    {
        var failures = Failures.Count == 0 ? "" : " (" + string.Join(", ", Failures.Select(f => $"{f.Key}: {f.Value}")) + ")";
        return $"{Connected:N0}/{Requested:N0} subscribed in {Seconds:F1} s, {Failed:N0} failed{failures}";
    }
}
