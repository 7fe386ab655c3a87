using System.Net;

namespace RawSse.Sse;

/// <summary>Concurrent streams per client address, capped (<see cref="ServerOptions.MaxStreamsPerAddress"/>; 0 for no cap).</summary>
internal sealed class StreamLeases(int maxPerAddress)
{
    private readonly Dictionary<IPAddress, int> _open = []; // guarded by itself

    /// <summary>False when the address is at its cap; otherwise a lease to dispose when the stream ends.</summary>
    public bool TryAcquire(IPAddress address, out StreamLease lease)
    {
        lease = StreamLease.None;
        if (maxPerAddress == 0)
        {
            return true;
        }

        lock (_open)
        {
            _open.TryGetValue(address, out int open);
            if (open >= maxPerAddress)
            {
                return false;
            }

            _open[address] = open + 1;
        }

        lease = new StreamLease(this, address);
        return true;
    }

    internal void Release(IPAddress address)
    {
        lock (_open)
        {
            if (_open.TryGetValue(address, out int open))
            {
                if (open <= 1)
                {
                    _open.Remove(address);
                }
                else
                {
                    _open[address] = open - 1;
                }
            }
        }
    }
}
