namespace RawSse.Tests;

/// <summary>One sample line of the Prometheus text format: its metric name, its labels in order and its value.</summary>
internal sealed record PrometheusSample(string Name, IReadOnlyList<KeyValuePair<string, string>> Labels, double Value, int Line)
{
    public string? Label(string name) => Labels.FirstOrDefault(l => l.Key == name).Value;
}
