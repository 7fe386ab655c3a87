namespace RawSse.Http;

/// <summary>
/// A connection's <see cref="ConnectionPhase"/> and since when, written by the connection and read by the shared sweep,
/// plus the sweep's own memory: which phase timed out, and how many bytes the peer had acknowledged when the sweep last
/// looked at a slow response. No timer per connection. A mutable struct: keep it in a field, never copy it.
/// </summary>
internal struct PhaseClock()
{
    private int _phase = (int)ConnectionPhase.Reading;
    private long _since = Environment.TickCount64;
    private int _timedOut; // 0, or 1 + the phase that timed out
    private long _ackedAtLastLook = -1;

    public ConnectionPhase Phase => (ConnectionPhase)Volatile.Read(ref _phase);

    public void Enter(ConnectionPhase phase)
    {
        Volatile.Write(ref _since, Environment.TickCount64);
        Volatile.Write(ref _phase, (int)phase);
    }

    public long Elapsed(long now) => now - Volatile.Read(ref _since);

    /// <summary>Records that <paramref name="phase"/> timed out; true for the first caller only.</summary>
    public bool TimeOut(ConnectionPhase phase) => Interlocked.CompareExchange(ref _timedOut, (int)phase + 1, 0) == 0;

    public bool HasTimedOut(ConnectionPhase phase) => Volatile.Read(ref _timedOut) == (int)phase + 1;

    /// <summary>
    /// True when the peer acknowledged more bytes since the last look (or this is the first): the phase's clock then
    /// starts again at <paramref name="now"/>, since a slow reader that makes progress is not stalled.
    /// </summary>
    public bool Progressed(long acked, long now)
    {
        if (acked <= _ackedAtLastLook)
        {
            return false;
        }

        _ackedAtLastLook = acked;
        Volatile.Write(ref _since, now);
        return true;
    }
}
