using System.Net;

namespace RawSse.Sse;

/// <summary>One stream counted against its client address's cap (<see cref="StreamLeases"/>); disposing it gives the place back, once.</summary>
internal sealed class StreamLease : IDisposable
{
    /// <summary>The lease of every stream when no cap is set: nothing is counted, nothing is given back.</summary>
    public static readonly StreamLease None = new(null, IPAddress.None);

    private readonly StreamLeases? _owner;
    private readonly IPAddress _address;
    private int _released;

    public StreamLease(StreamLeases? owner, IPAddress address)
    {
        _owner = owner;
        _address = address;
    }

    public void Dispose()
    {
        if (_owner is not null && Interlocked.Exchange(ref _released, 1) == 0)
        {
            _owner.Release(_address);
        }
    }
}
