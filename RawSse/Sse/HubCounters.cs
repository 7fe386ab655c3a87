namespace RawSse.Sse;

/// <summary>What the hub counts; the server's metrics read them. They live with the hub, which can outlive a server.</summary>
internal sealed class HubCounters
{
    private long _eventsPublished;
    private long _deliveries;
    private long _drops;
    private long _replayHits;
    private long _replayMisses;

    public long EventsPublished => Interlocked.Read(ref _eventsPublished);
    public long Deliveries => Interlocked.Read(ref _deliveries);
    public long Drops => Interlocked.Read(ref _drops);
    public long ReplayHits => Interlocked.Read(ref _replayHits);
    public long ReplayMisses => Interlocked.Read(ref _replayMisses);

    public void Published(long deliveries)
    {
        Interlocked.Increment(ref _eventsPublished);
        Interlocked.Add(ref _deliveries, deliveries);
    }

    public void Delivered(long count) => Interlocked.Add(ref _deliveries, count);
    public void Dropped(long count) => Interlocked.Add(ref _drops, count);
    public void ReplayHit() => Interlocked.Increment(ref _replayHits);
    public void ReplayMiss() => Interlocked.Increment(ref _replayMisses);
}
