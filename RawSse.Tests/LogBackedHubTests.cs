using RawSse.Auth;
using RawSse.Sse;
using RawSse.Store;

namespace RawSse.Tests;

/// <summary>
/// A hub in front of an event log: ids carry the log's epoch and position, the rings are a cache, and a resume they
/// cannot serve (a restarted hub's empty rings, events they let go) reads the log, then the rings, with no gap and no
/// duplicate; past the log's retention, a reset. A "restart" here is a new hub on the same log.
/// </summary>
[TestFixture]
public sealed class LogBackedHubTests
{
    private const string Sentinel = "end";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    [Test]
    public async Task Resume_AfterRestart_ReadsTheLogThenGoesLive()
    {
        // Arrange: 30 events through the first hub; the second starts with empty rings on the same log.
        var log = new MemoryEventLog();
        var before = new Hub(HubLimits.Default, log);
        var ids = new List<string>();
        for (int i = 1; i <= 30; i++)
        {
            ids.Add(await before.PublishAsync(["t"], new SseEvent($"e{i}")));
        }

        var after = new Hub(HubLimits.Default, log);

        // Act
        var sink = await JoinAsync(after, ["t"], lastEventId: ids[9]);
        for (int i = 31; i <= 35; i++)
        {
            ids.Add(await after.PublishAsync(["t"], new SseEvent($"e{i}")));
        }

        await after.PublishAsync(["t"], new SseEvent(Sentinel));

        // Assert
        Assert.Multiple(async () =>
        {
            Assert.That(after.Epoch, Is.EqualTo(log.Epoch).And.EqualTo(before.Epoch), "the ids' epoch is the log's");
            Assert.That(ids[0], Is.EqualTo($"{log.Epoch}-1"), "an id is the log's position");
            Assert.That(await sink.IdsUntilSentinelAsync(Deadline), Is.EqualTo(ids.Skip(10).ToList()), "events 11 to 35, once each, in order");
        });
    }

    [Test]
    public async Task Resume_PartlyInTheRings_LogThenRingsNoGapNoDuplicate()
    {
        // Arrange: 20 events before a restart, 20 after (those are in the rings).
        var log = new MemoryEventLog();
        var first = new Hub(HubLimits.Default, log);
        var ids = new List<string>();
        for (int i = 1; i <= 20; i++)
        {
            ids.Add(await first.PublishAsync(["t"], new SseEvent($"e{i}")));
        }

        var hub = new Hub(HubLimits.Default, log);
        for (int i = 21; i <= 40; i++)
        {
            ids.Add(await hub.PublishAsync(["t", "u"], new SseEvent($"e{i}")));
        }

        // Act
        var fromLog = await JoinAsync(hub, ["t"], lastEventId: ids[4]);
        var fromRings = await JoinAsync(hub, ["t"], lastEventId: ids[29]);
        await hub.PublishAsync(["t"], new SseEvent(Sentinel));

        // Assert
        Assert.Multiple(async () =>
        {
            Assert.That(await fromLog.IdsUntilSentinelAsync(Deadline), Is.EqualTo(ids.Skip(5).ToList()), "6..20 from the log, 21..40 from the rings");
            Assert.That(await fromRings.IdsUntilSentinelAsync(Deadline), Is.EqualTo(ids.Skip(30).ToList()), "31..40 from the rings alone");
        });
    }

    [Test]
    public async Task Resume_BeyondTheLogsRetention_Reset()
    {
        // Arrange: the log keeps 5 events a topic.
        var log = new MemoryEventLog(new LogRetention(PerTopicCount: 5));
        var first = new Hub(HubLimits.Default, log);
        var ids = new List<string>();
        for (int i = 1; i <= 12; i++)
        {
            ids.Add(await first.PublishAsync(["t"], new SseEvent($"e{i}")));
        }

        var hub = new Hub(HubLimits.Default, log);

        // Act
        var tooOld = await JoinAsync(hub, ["t"], lastEventId: ids[2]);
        var kept = await JoinAsync(hub, ["t"], lastEventId: ids[8]);
        await hub.PublishAsync(["t"], new SseEvent(Sentinel));

        // Assert
        var reset = await tooOld.EventsUntilSentinelAsync(Deadline);
        Assert.Multiple(async () =>
        {
            Assert.That(reset.Select(e => e.EventType), Is.EqualTo(new[] { Hub.ResetType }), "one reset, then live");
            Assert.That(reset[0].EventId, Is.EqualTo(ids[^1]), "the reset names the newest position");
            Assert.That(await kept.IdsUntilSentinelAsync(Deadline), Is.EqualTo(ids.Skip(9).ToList()), "10..12 are still in the log");
        });
    }

    [TestCase("earliest")]
    [TestCase("custom-7")]
    public async Task Resume_EarliestOrAPublishersId_ServedFromTheLog(string lastEventId)
    {
        // Arrange
        var log = new MemoryEventLog();
        var first = new Hub(HubLimits.Default, log);
        var ids = new List<string>();
        for (int i = 1; i <= 10; i++)
        {
            ids.Add(await first.PublishAsync(["t"], new SseEvent($"e{i}", id: i == 7 ? "custom-7" : null)));
        }

        var hub = new Hub(HubLimits.Default, log);

        // Act
        var sink = await JoinAsync(hub, ["t"], lastEventId);
        await hub.PublishAsync(["t"], new SseEvent(Sentinel));

        // Assert
        Assert.That(await sink.IdsUntilSentinelAsync(Deadline), Is.EqualTo(lastEventId == "earliest" ? ids : ids.Skip(7).ToList()));
    }

    [Test]
    public async Task Resume_FromTheLog_PrivateUpdatesOnlyWithAGrant()
    {
        // Arrange
        var log = new MemoryEventLog();
        var first = new Hub(HubLimits.Default, log);
        string secret = await first.PublishAsync(["t"], new SseEvent("secret"), isPrivate: true);
        string open = await first.PublishAsync(["t"], new SseEvent("open"));
        var hub = new Hub(HubLimits.Default, log);

        // Act
        var anonymous = await JoinAsync(hub, ["t"], "earliest");
        var granted = await JoinAsync(hub, ["t"], "earliest", claims: TokenClaims.Create(subscribe: ["t"]));
        await hub.PublishAsync(["t"], new SseEvent(Sentinel));

        // Assert
        Assert.Multiple(async () =>
        {
            Assert.That(await anonymous.IdsUntilSentinelAsync(Deadline), Is.EqualTo(new[] { open }));
            Assert.That(await granted.IdsUntilSentinelAsync(Deadline), Is.EqualTo(new[] { secret, open }));
        });
    }

    [Test]
    public async Task Resume_TemplateSelectorFromTheLog_MatchingTopicsOnly()
    {
        // Arrange
        var log = new MemoryEventLog();
        var first = new Hub(HubLimits.Default, log);
        string book = await first.PublishAsync(["https://example.com/books/1"], new SseEvent("book"));
        await first.PublishAsync(["https://example.com/authors/1"], new SseEvent("author"));
        var hub = new Hub(HubLimits.Default, log);

        // Act
        var sink = await JoinAsync(hub, ["end"], "earliest", patterns: ["https://example.com/books/{id}"]);
        await hub.PublishAsync(["end"], new SseEvent(Sentinel));

        // Assert
        Assert.That(await sink.IdsUntilSentinelAsync(Deadline), Is.EqualTo(new[] { book }));
    }

    [Test]
    public async Task Resume_FromTheLogOverItsByteBudget_Reset()
    {
        // Arrange: frames read from the log are this stream's own copies, so a resume holds at most four queues' worth.
        var log = new MemoryEventLog();
        var first = new Hub(HubLimits.Default, log);
        string data = new('x', 5000);
        var ids = new List<string>();
        for (int i = 1; i <= 12; i++)
        {
            ids.Add(await first.PublishAsync(["t"], new SseEvent(data)));
        }

        var hub = new Hub(HubLimits.Default, log);

        // Act: 8 KiB queues, so 32 KiB of replay: the last five events (25 KB) fit, all twelve (60 KB) do not.
        var tooMuch = await JoinAsync(hub, ["t"], "earliest", queueBytes: 8 * 1024);
        var fits = await JoinAsync(hub, ["t"], ids[6], queueBytes: 8 * 1024);
        await hub.PublishAsync(["t"], new SseEvent(Sentinel));

        // Assert
        Assert.Multiple(async () =>
        {
            Assert.That((await tooMuch.EventsUntilSentinelAsync(Deadline)).Select(e => e.EventType), Is.EqualTo(new[] { Hub.ResetType }));
            Assert.That(await fits.IdsUntilSentinelAsync(Deadline), Is.EqualTo(ids.Skip(7).ToList()));
        });
    }

    [Test]
    public async Task Resume_IdOfAnotherLog_Reset()
    {
        // Arrange: another log's id names no position of this one, even with the same sequence.
        var other = new Hub(HubLimits.Default, new MemoryEventLog());
        string foreign = await other.PublishAsync(["t"], new SseEvent("x"));
        var log = new MemoryEventLog();
        var hub = new Hub(HubLimits.Default, log);
        await hub.PublishAsync(["t"], new SseEvent("y"));

        // Act
        var sink = await JoinAsync(hub, ["t"], foreign);
        await hub.PublishAsync(["t"], new SseEvent(Sentinel));

        // Assert
        Assert.That((await sink.EventsUntilSentinelAsync(Deadline)).Select(e => e.EventType), Is.EqualTo(new[] { Hub.ResetType }));
    }

    [Test]
    public async Task Resume_IdAheadOfThisNode_WaitsForItToCatchUpThenServesWhatCameAfter()
    {
        // Arrange: another node put five events in the shared store; this one has applied none of them yet
        var log = new HeldBackEventLog();
        var hub = new Hub(HubLimits.Default, log);
        for (int i = 1; i <= 5; i++)
        {
            await log.AppendAsync([new NewEvent(["t"], new SseEvent($"e{i}"))]);
        }

        // Act: a client that saw event 3 on the other node comes here
        var joining = JoinAsync(hub, ["t"], lastEventId: $"{log.Epoch}-3");
        bool waiting = await Polling.UntilAsync(() => log.Waiting > 0, Deadline);
        log.ApplyAll();
        var sink = await joining.WaitAsync(Deadline);
        await hub.PublishAsync(["t"], new SseEvent(Sentinel));
        log.ApplyAll();

        // Assert
        Assert.That(waiting, Is.True, "the resume waited for this node instead of answering reset");
        Assert.That(await sink.IdsUntilSentinelAsync(Deadline), Is.EqualTo(new[] { $"{log.Epoch}-4", $"{log.Epoch}-5" }), "events 4 and 5, no reset");
    }

    [Test]
    public async Task LogLosesEventsBeforeThisNodeAppliedThem_LiveSubscribersGetAResetThenGoOn()
    {
        // Arrange: a live subscriber; e1 applied, e2 and e3 trimmed before this node read them, then e4
        var log = new HeldBackEventLog();
        var hub = new Hub(HubLimits.Default, log);
        var sink = await JoinAsync(hub, ["t"], lastEventId: null);
        var other = await JoinAsync(hub, ["elsewhere"], lastEventId: null);
        await log.AppendAsync([new NewEvent(["t"], new SseEvent("e1"))]);
        log.ApplyAll();
        await log.AppendAsync([new NewEvent(["t"], new SseEvent("e2")), new NewEvent(["t"], new SseEvent("e3"))]);

        // Act
        log.LoseAll();
        await log.AppendAsync([new NewEvent(["t"], new SseEvent("e4")), new NewEvent(["t"], new SseEvent(Sentinel)), new NewEvent(["elsewhere"], new SseEvent(Sentinel))]);
        log.ApplyAll();

        // Assert
        var events = await sink.EventsUntilSentinelAsync(Deadline);
        Assert.That(events.Select(e => (e.EventType, e.EventId, e.Data)), Is.EqualTo(new[]
        {
            ("message", $"{log.Epoch}-1", "e1"),
            (Hub.ResetType, $"{log.Epoch}-3", "events were lost before this server could send them; resync"),
            ("message", $"{log.Epoch}-4", "e4"),
        }), "e1, a reset naming the last lost position, then e4: nothing skipped silently");
        var elsewhere = await other.EventsUntilSentinelAsync(Deadline);
        Assert.That(elsewhere.Select(e => e.EventType), Is.EqualTo(new[] { Hub.ResetType }), "a subscriber of another topic cannot know what it lost either");
    }

    private static async Task<RecordingStreamSink> JoinAsync(Hub hub, string[] topics, string? lastEventId, TokenClaims? claims = null, string[]? patterns = null,
        long queueBytes = 1 << 20)
    {
        var sink = new RecordingStreamSink(Sentinel);
        var subscriber = new Subscriber(sink, topics, new SubscriberLimits(4096, queueBytes, SlowConsumerPolicy.Disconnect), hub)
        {
            Claims = claims,
            Patterns = patterns is null ? [] : [.. patterns.Select(TopicSelector.Parse)],
        };
        Assert.That(await hub.SubscribeAsync(subscriber, lastEventId), Is.True);
        subscriber.Flush();
        return sink;
    }
}
