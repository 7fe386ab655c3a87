namespace LoadGen;

/// <summary>The processes whose CPU a fan-out step reports: one server, or every node of a cluster (by port), and the store's.</summary>
internal sealed class ServerSet(IReadOnlyList<int> pids, int storePid, IReadOnlyList<int> ports)
{
    public IReadOnlyList<int> Ports { get; } = ports;

    /// <summary>Every node's figures (null where a pid is 0 or gone) and the store's, at one moment.</summary>
    public (ProcStats?[] Nodes, ProcStats? Store) Read() => ([.. pids.Select(ProcStats.TryRead)], ProcStats.TryRead(storePid));
}
