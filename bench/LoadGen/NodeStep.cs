namespace LoadGen;

/// <summary>One server's share of a fan-out step, when subscribers spread over several (the nodes of a cluster).</summary>
internal sealed class NodeStep
{
    public int Port { get; set; }
    public int Subscribers { get; set; }
    public int Closed { get; set; }
    public long Delivered { get; set; }
    public long Lost { get; set; }
    public Percentiles LatencyMs { get; set; } = new();
    public double CpuSeconds { get; set; }
    public double CpuPercent { get; set; }
    public double DeliveriesPerCpuSecond { get; set; }  // this node's subscribers' deliveries / this node's CPU time
    public double RssMb { get; set; }
}
