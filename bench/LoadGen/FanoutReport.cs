namespace LoadGen;

internal sealed class FanoutReport
{
    public string Mode { get; set; } = "fanout";
    public string Label { get; set; } = "";
    public bool Ok { get; set; }
    public int Subscribers { get; set; }
    public int Size { get; set; }
    public double DurationSeconds { get; set; }
    public double MaxP99Ms { get; set; }
    public double StopP99Ms { get; set; }
    public int LoadProcesses { get; set; }
    public ConnectSummary? Connect { get; set; }
    public double HighestCleanRate { get; set; }
    public double HighestSustainedRate { get; set; }
    public List<FanoutStep> Steps { get; set; } = [];
}
