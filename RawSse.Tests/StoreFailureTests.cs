using RawSse.Sse;
using RawSse.Store;

namespace RawSse.Tests;

/// <summary>
/// A store that fails while running (disk full, database locked): publishes get 503 with Retry-After, nothing is
/// published, open streams stay open, the failure is logged once a minute however often it happens, and publishing
/// works again by itself once the store does.
/// </summary>
[TestFixture]
public sealed class StoreFailureTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    [Test]
    public async Task Publish_StoreFailing_503ThenRecoversWithStreamsOpen()
    {
        // Arrange
        var log = new FailingLog(new MemoryEventLog());
        await using var server = TestServer.Start(o => o.HeartbeatInterval = TimeSpan.Zero, hub: new Hub(HubLimits.Default, log));
        using var stream = await SseStream.OpenStreamAsync(server, "/sse?topic=t", Timeout, waitForSubscriber: true);
        using var publisher = await server.ConnectAsync();

        // Act
        log.Failing = true;
        var first = await Publishing.SendAsync(publisher, "topic=t&data=lost", Timeout);
        var second = await Publishing.SendAsync(publisher, "topic=t&data=lost-too", Timeout);
        log.Failing = false;
        var recovered = await Publishing.SendAsync(publisher, "topic=t&data=back", Timeout);
        string frame = await stream.ReadUntilAsync("\n\n", Timeout);

        // Assert
        var storeErrors = server.Logs.Entries.Where(e => e.Message.Contains("event store is unavailable", StringComparison.Ordinal)).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(first.Status, Is.EqualTo(503), first.RawHead);
            Assert.That(first.Headers.GetValueOrDefault("Retry-After"), Is.EqualTo("5"));
            Assert.That(second.Status, Is.EqualTo(503), "the same connection goes on");
            Assert.That(recovered.Status, Is.EqualTo(200), recovered.BodyText);
            Assert.That(frame, Is.EqualTo($"id: {recovered.BodyText}\ndata: back\n\n"), "the stream stayed open, and nothing refused reached it");
            Assert.That(recovered.BodyText, Is.EqualTo($"{log.Epoch}-1"), "a refused publish took no position");
            Assert.That(storeErrors, Has.Count.EqualTo(1), "two failures within a minute: one log line");
        });
    }

    /// <summary>A log that refuses appends while <see cref="Failing"/>, as a full disk would.</summary>
    private sealed class FailingLog(IEventLog inner) : DelegatingEventLog(inner)
    {
        public volatile bool Failing;

        public override ValueTask<long> AppendAsync(IReadOnlyList<NewEvent> events, CancellationToken cancellationToken = default) =>
            Failing ? throw new EventLogUnavailableException("database or disk is full") : base.AppendAsync(events, cancellationToken);
    }
}
