using RawSse.Sse;

namespace RawSse.Tests;

/// <summary>
/// A frame encoded before the hub's lock with a slot for the id it assigns under the lock is, byte for byte, the
/// frame encoded with that id; a position that does not fit the slot (a new digit) is refused, and the hub then
/// encodes again, so every event carries its own position even across 9 → 10 and 99 → 100 with publishers racing.
/// </summary>
[TestFixture]
public sealed class SseFramesTests
{
    private const string Epoch = "k3j9x0a2";

    private static readonly SseEvent[] s_events =
    [
        new("hello"),
        new("two\nlines\r\nand\rthree", type: "kind"),
        new("", retry: 0),
        new("ünïcode 🙂 \"quoted\"", type: "émoji", retry: 1500),
    ];

    [Test]
    public void EncodeWithIdSlot_Stamped_SameBytesAsEncodeWithTheId([Range(0, 3)] int which, [Values(1L, 9L, 42L, 123_456_789L, long.MaxValue)] long sequence)
    {
        // Arrange
        var ev = s_events[which];
        int digits = SseFrames.DigitsOf(sequence);

        // Act
        byte[] frame = SseFrames.EncodeWithIdSlot(ev, Epoch, digits, out int idAt);
        bool stamped = SseFrames.TryStampId(frame, idAt, digits, sequence);

        // Assert
        Assert.That(stamped, Is.True);
        Assert.That(Describe.Escape(System.Text.Encoding.UTF8.GetString(frame)), Is.EqualTo(Describe.Escape(System.Text.Encoding.UTF8.GetString(SseFrames.Encode(ev, $"{Epoch}-{sequence}")))));
        Assert.That(frame, Is.EqualTo(SseFrames.Encode(ev, $"{Epoch}-{sequence}")), "byte for byte");
    }

    [TestCase(9L, 1, true)]
    [TestCase(10L, 1, false)]
    [TestCase(99L, 3, false)]
    [TestCase(100L, 3, true)]
    public void TryStampId_DigitsDiffer_Refused(long sequence, int digits, bool fits)
    {
        byte[] frame = SseFrames.EncodeWithIdSlot(new SseEvent("x"), Epoch, digits, out int idAt);
        Assert.That(SseFrames.TryStampId(frame, idAt, digits, sequence), Is.EqualTo(fits));
    }

    [TestCase(0L, 1)]
    [TestCase(9L, 1)]
    [TestCase(10L, 2)]
    [TestCase(999_999L, 6)]
    [TestCase(1_000_000L, 7)]
    [TestCase(long.MaxValue, 19)]
    public void DigitsOf_Value_DecimalDigits(long value, int digits) => Assert.That(SseFrames.DigitsOf(value), Is.EqualTo(digits));

    [Test]
    [CancelAfter(30_000)]
    public async Task Publish_FourThreadsAcrossNewDigits_EveryFrameCarriesItsOwnPosition()
    {
        // Arrange: 1,200 events from four threads, across 9 → 10, 99 → 100 and 999 → 1,000
        var hub = new Hub(HubLimits.Default);
        var sink = new RecordingStreamSink(sentinel: "end");
        var subscriber = new Subscriber(sink, ["t"], new SubscriberLimits(4096, 1 << 20, SlowConsumerPolicy.Disconnect), hub);
        Assert.That(await hub.SubscribeAsync(subscriber, lastEventId: null), Is.True);
        subscriber.Flush();

        // Act
        var returned = await Task.WhenAll(Enumerable.Range(0, 4).Select(t => Task.Run(() =>
            Enumerable.Range(0, 300).Select(i => (Id: hub.Publish("t", new SseEvent($"{t}:{i}")), Data: $"{t}:{i}")).ToList())));
        hub.Publish("t", new SseEvent("end"));
        var events = await sink.EventsUntilSentinelAsync(TimeSpan.FromSeconds(10));

        // Assert
        Assert.That(events.Select(e => e.EventId), Is.EqualTo(Enumerable.Range(1, 1200).Select(i => $"{hub.Epoch}-{i}")), "positions 1 to 1,200, in order, each in its own frame");
        var byId = events.ToDictionary(e => e.EventId!, e => e.Data);
        foreach (var (id, data) in returned.SelectMany(r => r))
        {
            Assert.That(byId[id], Is.EqualTo(data), $"the id Publish returned ({id}) is the one its event carries");
        }
    }
}
