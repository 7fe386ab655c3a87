namespace LoadGen;

internal sealed class IdleReport
{
    public string Mode { get; set; } = "idle";
    public string Label { get; set; } = "";
    public bool Ok { get; set; }
    public double BytesPerSubscriber { get; set; }
    public List<IdlePoint> Points { get; set; } = [];
}
