namespace RawSse.Sse;

/// <summary>One topic: its subscribers and its replay ring. Guarded by the hub's lock.</summary>
internal sealed class Topic(string name, HubLimits limits, long createdAfter)
{
    /// <summary>A one-name list a single-topic subscriber shares, so it need not keep its own.</summary>
    public string[] Names { get; } = [name];

    public string Name => Names[0];

    public HashSet<Subscriber> Subscribers { get; } = [];

    public ReplayRing Ring { get; } = new(limits.ReplayCount, limits.ReplayBytesPerTopic);

    /// <summary>The hub's sequence when the topic was made: what came before is known only as "forgotten" or not.</summary>
    public long CreatedAfter { get; } = createdAfter;

    /// <summary>The sequence of the last event published to it (an event naming it twice is kept once).</summary>
    public long LastSequence { get; set; }

    /// <summary>Nothing holds it: no subscriber and nothing kept.</summary>
    public bool IsUnused => Subscribers.Count == 0 && Ring.Count == 0;
}
