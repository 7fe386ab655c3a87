using RawSse.Store;

namespace RawSse.Sse;

/// <summary>What the hub counts; the server's metrics read them. They live with the hub, which can outlive a server.</summary>
internal sealed class HubCounters
{
    private long _eventsPublished;
    private long _deliveries;
    private long _drops;
    private long _replayHits;
    private long _replayMisses;

    /// <summary>The bounds of <see cref="DeliveryDelay"/>, in seconds: from a tenth of a millisecond (a send on an idle loopback) to a stalled client.</summary>
    public static IReadOnlyList<double> DeliveryDelayBounds { get; } = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    /// <summary>From the hub accepting an event to the completion of the send that carried it to a subscriber (see <see cref="Subscriber"/>).</summary>
    public LatencyHistogram DeliveryDelay { get; } = new(DeliveryDelayBounds);

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
