namespace LoadGen;

internal sealed class TickerReport
{
    public string Mode { get; set; } = "ticker";
    public string Label { get; set; } = "";
    public bool Ok { get; set; }
    public int Subscribers { get; set; }
    public double DurationSeconds { get; set; }
    public int PeriodMs { get; set; }
    public ConnectSummary? Connect { get; set; }
    public int Ticks { get; set; }
    public int IncompleteTicks { get; set; }
    public long TicksMissed { get; set; }
    public Percentiles IntervalMs { get; set; } = new();
    public Percentiles JitterMs { get; set; } = new();
    public Percentiles SpreadMs { get; set; } = new();
    public double ServerCpuSeconds { get; set; }
    public double ServerCpuPercent { get; set; }
    public double ServerRssMb { get; set; }
    public double LoadCpuPercent { get; set; }
    public double OtherCpuPercent { get; set; }
}
