using System.Diagnostics;

namespace RawSse;

/// <summary>
/// Gives memory back after a burst of connections. A new connection's request phase leaves a few KB of short-lived
/// objects. When thousands arrive at once (a deploy makes every browser reconnect), collections in the middle of the
/// burst promote that garbage, and the collector keeps the regions it used committed: RSS stays near its peak, about
/// twice what the idle streams hold, until a full collection happens to run, which a server of idle streams may not
/// need for a long time. Checked by the server's sweep: once no connection has arrived for <see cref="QuietMs"/>
/// after at least <see cref="ServerOptions.MemoryReturnBurst"/> new ones, and the collector holds at least
/// <see cref="ServerOptions.MemoryReturnMinBytes"/> more than the heap, one compacting collection that decommits
/// what it frees returns it. It pauses the process once per burst (44 ms after 19,000 streams connected here), and at
/// most once every <see cref="MinIntervalMs"/>, however the bursts come: a client that opens and closes a thousand
/// connections at will cannot make the server pause more often than that.
/// </summary>
internal sealed class MemoryReturn(int burstConnections, long minSurplusBytes)
{
    public const long QuietMs = 1000;

    /// <summary>The shortest time between two collections.</summary>
    public const long MinIntervalMs = 60_000;

    private long _lastAcceptAt;        // Volatile: Environment.TickCount64 of the last accepted connection
    private long _acceptedAtLastCheck; // the sweep's own
    private long? _lastCollectionAt;   // the sweep's own

    public void OnAccepted() => Volatile.Write(ref _lastAcceptAt, Environment.TickCount64);

    /// <summary>Collects when a burst is over and worth it; returns the bytes given back and the pause, or null.</summary>
    public (long ReturnedBytes, TimeSpan Pause)? TryReturn(long now, long acceptedSoFar)
    {
        if (burstConnections <= 0 || acceptedSoFar - _acceptedAtLastCheck < burstConnections || now - Volatile.Read(ref _lastAcceptAt) < QuietMs
            || now - _lastCollectionAt < MinIntervalMs)
        {
            return null; // too soon after the last collection: the burst waits its turn
        }

        _acceptedAtLastCheck = acceptedSoFar;
        var before = GC.GetGCMemoryInfo();
        if (minSurplusBytes > 0 && before.TotalCommittedBytes - before.HeapSizeBytes < minSurplusBytes)
        {
            return null;
        }

        _lastCollectionAt = now;
        var clock = Stopwatch.StartNew();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        var pause = clock.Elapsed;
        return (before.TotalCommittedBytes - GC.GetGCMemoryInfo().TotalCommittedBytes, pause);
    }
}
