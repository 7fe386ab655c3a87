namespace LoadGen;

internal sealed class NoiseReport
{
    public string Mode { get; set; } = "noise";
    public string Label { get; set; } = "";
    public double Seconds { get; set; }
    public long GapsOver1Ms { get; set; }
    public long GapsOver10Ms { get; set; }
    public double MaxGapMs { get; set; }
    public double StalledPercent { get; set; }
}
