namespace LoadGen;

internal sealed class StaticReport
{
    public string Mode { get; set; } = "static";
    public string Label { get; set; } = "";
    public bool Ok { get; set; }
    public string File { get; set; } = "";
    public string Command { get; set; } = "";
    public long Requests { get; set; }
    public double RequestsPerSecond { get; set; }
    public double LatencyP50Ms { get; set; }
    public double LatencyP90Ms { get; set; }
    public double LatencyP99Ms { get; set; }
    public long Non2xx { get; set; }
    public long SocketErrors { get; set; }
    public double ServerCpuSeconds { get; set; }
    public double ServerCpuPercent { get; set; }
    public double RequestsPerServerCpuSecond { get; set; }
    public double ServerRssMb { get; set; }
    public double LoadCpuPercent { get; set; }
    public double OtherCpuPercent { get; set; }
}
