namespace LoadGen;

internal sealed class StaticReport : WrkReport
{
    public string Mode { get; set; } = "static";
    public string Label { get; set; } = "";
    public bool Ok { get; set; }
    public string File { get; set; } = "";
}
