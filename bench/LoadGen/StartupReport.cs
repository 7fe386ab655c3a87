namespace LoadGen;

internal sealed class StartupReport
{
    public string Mode { get; set; } = "startup";
    public string Label { get; set; } = "";
    public bool Ok { get; set; }
    public string Command { get; set; } = "";
    public double MedianFirstByteMs { get; set; }
    public double MinFirstByteMs { get; set; }
    public double MedianIdleRssMb { get; set; }
    public List<StartupRun> Runs { get; set; } = [];
}
