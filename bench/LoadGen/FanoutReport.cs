namespace LoadGen;

internal sealed class FanoutReport
{
    public string Mode { get; set; } = "fanout";
    public string Label { get; set; } = "";
    public string Scenario { get; set; } = "fanout"; // the report's section: "fanout", or "cluster" (several nodes, or the single node compared with them)
    public List<int> Ports { get; set; } = [];
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
