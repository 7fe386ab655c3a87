namespace LoadGen;

/// <summary>
/// One <c>ingest</c> run: wrk's figures (its requests are the publishes, or a static file's requests in a
/// comparison case) and what the subscribers on the topic saw meanwhile.
/// </summary>
internal sealed class IngestReport : WrkReport
{
    public string Mode { get; set; } = "ingest";
    public string Label { get; set; } = "";
    public string Case { get; set; } = "";
    public bool Ok { get; set; }
    public int Subscribers { get; set; }             // asked for
    public ConnectSummary? Connect { get; set; }
    public double WarmupSeconds { get; set; }
    public int ClosedInWarmup { get; set; }          // cut by the server (slow) or failed, before the measured run
    public int ClosedInRun { get; set; }
    public int OpenAtEnd { get; set; }
    public long BytesReceived { get; set; }          // by every subscriber, during the measured run
    public double MegabytesPerSecond { get; set; }   // the same per second of it (10^6 bytes)
}
