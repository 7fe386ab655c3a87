namespace LoadGen;

internal sealed class IdlePoint
{
    public int Subscribers { get; set; }
    public int Connected { get; set; }
    public double ConnectSeconds { get; set; }
    public Dictionary<string, int> Failures { get; set; } = [];
    public long ServerRssKb { get; set; }
    public int ServerThreads { get; set; }
    public double ServerCpuSeconds { get; set; }
    public double BytesPerSubscriberSincePrevious { get; set; }
}
