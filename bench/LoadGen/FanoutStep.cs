namespace LoadGen;

/// <summary>One publish rate of the fan-out ramp.</summary>
internal sealed class FanoutStep
{
    public double TargetRate { get; set; }
    public double AchievedRate { get; set; }
    public long Published { get; set; }
    public long PublishFailed { get; set; }
    public bool PublishStalled { get; set; }
    public Percentiles PublishRoundTripMs { get; set; } = new();
    public int Subscribers { get; set; }
    public int Closed { get; set; }
    public long Expected { get; set; }
    public long Delivered { get; set; }
    public long Lost { get; set; }
    public long Duplicates { get; set; }
    public long OutOfOrder { get; set; }
    public bool Drained { get; set; }
    public Percentiles LatencyMs { get; set; } = new();
    public Percentiles LastSubscriberMs { get; set; } = new();
    public Percentiles FirstDeliveryMs { get; set; } = new();  // per event: publish to its first delivery anywhere
    public double DeliveriesPerSecond { get; set; }
    public double WallSeconds { get; set; }
    public double ServerCpuSeconds { get; set; }       // every server of --server-pids together
    public double ServerCpuPercent { get; set; }
    public double DeliveriesPerServerCpuSecond { get; set; }
    public double ServerRssMb { get; set; }
    public int ServerThreads { get; set; }
    public List<NodeStep> Nodes { get; set; } = [];   // per server port, in the order of --ports
    public double StoreCpuSeconds { get; set; }        // the store's process (--store-pid: nats-server), if any
    public double StoreCpuPercent { get; set; }
    public double LoadCpuSeconds { get; set; }
    public double LoadCpuPercent { get; set; }
    public double LoadRssMb { get; set; }
    public bool LoadBound { get; set; }
    public double OtherCpuPercent { get; set; }    // machine busy time that was neither the server's nor the load's
    public double StealPercent { get; set; }
    public double LoadGcPauseMs { get; set; }
    public int LoadGcCount { get; set; }
    public bool Clean { get; set; }
    public bool Sustained { get; set; }
    public string Why { get; set; } = "";
    public string? DisturbedFirstTry { get; set; } // set when this is a second try after a disturbed first one

    public string Describe(string label) =>
        $"[{label}] {TargetRate,7:N0}/s (sent {AchievedRate:N0}/s): {Delivered:N0}/{Expected:N0} delivered, lost {Lost:N0}, dup {Duplicates:N0}, " +
        $"reordered {OutOfOrder:N0}, closed {Closed:N0}\n" +
        $"    latency {LatencyMs}\n" +
        $"    last subscriber {LastSubscriberMs}\n" +
        $"    first subscriber {FirstDeliveryMs}\n" +
        (Nodes.Count > 1 ? string.Concat(Nodes.Select(n => $"    node :{n.Port}: {n.Delivered:N0} delivered, lost {n.Lost:N0}, closed {n.Closed:N0}, latency {n.LatencyMs}, {n.CpuSeconds:F2} CPU-s, {n.DeliveriesPerCpuSecond:N0} deliveries/CPU-s\n")) : "") +
        (StoreCpuSeconds > 0 ? $"    store {StoreCpuSeconds:F2} CPU-s ({StoreCpuPercent:F0} %)\n" : "") +
        $"    publish round trip p50 {PublishRoundTripMs.P50:F2} ms, p99 {PublishRoundTripMs.P99:F2} ms\n" +
        $"    {DeliveriesPerSecond:N0} deliveries/s; server {ServerCpuSeconds:F2} CPU-s ({ServerCpuPercent:F0} %), {DeliveriesPerServerCpuSecond:N0} deliveries/CPU-s, RSS {ServerRssMb:F1} MB; " +
        $"load generator {LoadCpuPercent:F0} % CPU, {LoadGcCount} GCs ({LoadGcPauseMs:F0} ms); other processes {OtherCpuPercent:F0} % CPU, steal {StealPercent:F0} %{(LoadBound ? " (saturated: results are bounded by the load generator)" : "")}\n" +
        $"    {(Clean ? "clean" : Sustained ? "sustained, not clean: " + Why : "NOT sustained: " + Why)}";
}
