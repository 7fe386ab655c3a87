namespace LoadGen;

/// <summary>A distribution summarised in milliseconds.</summary>
internal sealed class Percentiles
{
    public long Count { get; set; }
    public double P50 { get; set; }
    public double P99 { get; set; }
    public double P999 { get; set; }
    public double Max { get; set; }
    public double Min { get; set; }

    public static Percentiles FromMicros(Histogram h) => new()
    {
        Count = h.Count,
        P50 = Ms(h.Percentile(50)),
        P99 = Ms(h.Percentile(99)),
        P999 = Ms(h.Percentile(99.9)),
        Max = Ms(h.Max),
        Min = Ms(h.Min),
    };

    public override string ToString() => $"p50 {P50:F2} ms, p99 {P99:F2} ms, p99.9 {P999:F2} ms, max {Max:F2} ms (n={Count:N0})";

    private static double Ms(long micros) => Math.Round(micros / 1000.0, 3);
}
