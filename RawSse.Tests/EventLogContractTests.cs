using RawSse.Sse;
using RawSse.Store;

namespace RawSse.Tests;

/// <summary>
/// The <see cref="IEventLog"/> contract (its class comment), checked the same way against every engine: positions,
/// appends and what the sink sees, reads, retention and its floors, ids, and what an event keeps on the way through.
/// SQLite's own matters (reopening, failures) are in <see cref="SqliteEventLogTests"/>.
/// </summary>
[TestFixture("memory")]
[TestFixture("sqlite")]
[TestFixture("nats")]
public sealed class EventLogContractTests(string engine)
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(10);

    private EventLogStores _stores = null!;

    [SetUp]
    public void SetUp() => _stores = new EventLogStores(engine);

    [TearDown]
    public async Task TearDown() => await _stores.DisposeAsync();

    [Test]
    public async Task AppendAsync_OneAtATime_PositionsStartAtOneAndIncrease()
    {
        // Arrange
        var log = _stores.Create();
        var positions = new List<long>();

        // Act
        for (int i = 0; i < 5; i++)
        {
            positions.Add(await log.AppendAsync([Event("a", $"e{i}")]));
        }

        // Assert
        Assert.That(positions, Is.EqualTo(new long[] { 1, 2, 3, 4, 5 }));
    }

    [Test]
    public async Task AppendAsync_Completed_SinkHasEveryEventOnceInOrder()
    {
        // Arrange
        var log = _stores.Create();
        var sink = new RecordingSink();
        log.Attach(sink);

        // Act + Assert: each append's event is with the sink by the time the append completes
        for (int i = 1; i <= 5; i++)
        {
            long position = await log.AppendAsync([Event("a", $"e{i}")]);
            Assert.That(sink.Has(position), Is.True, $"the sink had not been given event {position} when its append completed");
        }

        Assert.That(sink.Applied.Select(e => e.Sequence), Is.EqualTo(new long[] { 1, 2, 3, 4, 5 }));
        Assert.That(sink.Applied.Select(e => e.Event.Data), Is.EqualTo(new[] { "e1", "e2", "e3", "e4", "e5" }));
    }

    [Test]
    public async Task AppendAsync_Batch_ContiguousPositionsInOrder()
    {
        // Arrange
        var log = _stores.Create();
        var sink = new RecordingSink();
        log.Attach(sink);
        await log.AppendAsync([Event("a", "before")]);

        // Act
        long first = await log.AppendAsync([Event("a", "x"), Event("b", "y"), Event("a", "z")]);

        // Assert
        Assert.That(first, Is.EqualTo(2));
        Assert.That(log.Head, Is.EqualTo(4));
        Assert.That(sink.Applied.Skip(1).Select(e => (e.Sequence, e.Event.Data)),
            Is.EqualTo(new[] { (2L, "x"), (3L, "y"), (4L, "z") }));
    }

    [Test]
    public async Task AppendAsync_EightConcurrentAppenders_ContiguousPositionsEachOnceInEachAppendersOrder()
    {
        // Arrange
        const int appenders = 8, each = 500;
        var log = _stores.Create();
        var sink = new RecordingSink();
        log.Attach(sink);

        // Act
        var runs = Enumerable.Range(0, appenders).Select(a => Task.Run(async () =>
        {
            var mine = new List<long>(each);
            for (int i = 0; i < each; i++)
            {
                mine.Add(await log.AppendAsync([Event($"t{a}", $"{a}:{i}")]));
            }

            return mine;
        })).ToArray();
        var positions = await Task.WhenAll(runs).WaitAsync(TimeSpan.FromSeconds(60));

        // Assert
        Assert.That(positions.SelectMany(p => p).Order(), Is.EqualTo(Enumerable.Range(1, appenders * each).Select(i => (long)i)),
            "the positions are 1..4000, each once");
        foreach (var mine in positions)
        {
            Assert.That(mine, Is.Ordered.Ascending, "an appender's own events keep its order");
        }

        var applied = sink.Applied;
        Assert.That(applied.Select(e => e.Sequence), Is.EqualTo(Enumerable.Range(1, appenders * each).Select(i => (long)i)),
            "the sink saw every position once, in order");
        Assert.That(applied.Select(e => e.Event.Data).Distinct().Count(), Is.EqualTo(appenders * each), "each event once");
        for (int a = 0; a < appenders; a++)
        {
            var byPosition = applied.Where(e => e.Topics[0] == $"t{a}").Select(e => e.Event.Data);
            Assert.That(byPosition, Is.EqualTo(Enumerable.Range(0, each).Select(i => $"{a}:{i}")), $"appender {a}'s events in its order");
            Assert.That(applied.Where(e => e.Topics[0] == $"t{a}").Select(e => e.Sequence), Is.EqualTo(positions[a]),
                $"appender {a}'s events at the positions its appends returned");
        }

        Assert.That(log.Head, Is.EqualTo(appenders * each));
        var read = await log.ReadAfterAsync(0, topics: null, max: 10_000);
        Assert.That(read.Events.Select(e => e.Sequence), Is.EqualTo(applied.Select(e => e.Sequence)));
        Assert.That(read.Complete, Is.True);
    }

    [Test]
    public async Task Head_AfterAppends_NewestPosition()
    {
        // Arrange
        var log = _stores.Create();
        long empty = log.Head;

        // Act
        await log.AppendAsync([Event("a", "1")]);
        await log.AppendAsync([Event("a", "2"), Event("b", "3")]);

        // Assert
        Assert.That(empty, Is.Zero);
        Assert.That(log.Head, Is.EqualTo(3));
    }

    [Test]
    public async Task ReadAfterAsync_AllTopics_EventsAfterThePositionOldestFirst()
    {
        // Arrange
        var log = _stores.Create();
        await log.AppendAsync([Event("a", "1"), Event("b", "2"), Event("c", "3"), Event("a", "4")]);

        // Act
        var read = await log.ReadAfterAsync(1, topics: null, max: 100);

        // Assert
        Assert.That(read.Events.Select(e => (e.Sequence, e.Event.Data)), Is.EqualTo(new[] { (2L, "2"), (3L, "3"), (4L, "4") }));
        Assert.That(read.Complete, Is.True);
    }

    [Test]
    public async Task ReadAfterAsync_OneTopic_OnlyItsEvents()
    {
        // Arrange
        var log = _stores.Create();
        await log.AppendAsync([Event("a", "1"), Event("b", "2"), Event("a", "3"), Event("c", "4"), Event("a", "5")]);

        // Act
        var read = await log.ReadAfterAsync(1, ["a"], max: 100);

        // Assert
        Assert.That(read.Events.Select(e => e.Sequence), Is.EqualTo(new long[] { 3, 5 }));
        Assert.That(read.Complete, Is.True);
    }

    [Test]
    public async Task ReadAfterAsync_SeveralTopics_AnEventOnTwoOfThemOnce()
    {
        // Arrange
        var log = _stores.Create();
        await log.AppendAsync([Event("a", "1"), Event(["a", "b"], "2"), Event("c", "3"), Event("b", "4")]);

        // Act
        var read = await log.ReadAfterAsync(0, ["a", "b"], max: 100);

        // Assert
        Assert.That(read.Events.Select(e => e.Sequence), Is.EqualTo(new long[] { 1, 2, 4 }));
        Assert.That(read.Events[1].Topics, Is.EqualTo(new[] { "a", "b" }));
        Assert.That(read.Complete, Is.True);
    }

    [Test]
    public async Task ReadAfterAsync_UnknownTopicOrAtHead_NothingAndComplete()
    {
        // Arrange
        var log = _stores.Create();
        await log.AppendAsync([Event("a", "1"), Event("a", "2")]);

        // Act
        var unknown = await log.ReadAfterAsync(0, ["nobody"], max: 100);
        var atHead = await log.ReadAfterAsync(2, topics: null, max: 100);

        // Assert
        Assert.That(unknown.Events, Is.Empty);
        Assert.That(unknown.Complete, Is.True);
        Assert.That(atHead.Events, Is.Empty);
        Assert.That(atHead.Complete, Is.True);
    }

    [TestCase(null)]
    [TestCase("a")]
    [TestCase("a,b")]
    public async Task ReadAfterAsync_MoreThanMax_FirstMaxAndIncomplete(string? topicList)
    {
        // Arrange
        var log = _stores.Create();
        string[]? topics = topicList?.Split(',');
        await log.AppendAsync([.. Enumerable.Range(1, 5).Select(i => Event(["a", "b"], $"{i}"))]);

        // Act
        var more = await log.ReadAfterAsync(1, topics, max: 3);
        var exactly = await log.ReadAfterAsync(2, topics, max: 3);

        // Assert
        Assert.That(more.Events.Select(e => e.Sequence), Is.EqualTo(new long[] { 2, 3, 4 }));
        Assert.That(more.Complete, Is.False, "a fifth event was left out");
        Assert.That(exactly.Events.Select(e => e.Sequence), Is.EqualTo(new long[] { 3, 4, 5 }));
        Assert.That(exactly.Complete, Is.True, "nothing was left out");
    }

    [Test]
    public async Task TrimAsync_PerTopicCount_OldestGoneAndFloorSaysSo()
    {
        // Arrange
        var log = _stores.Create(new LogRetention(PerTopicCount: 3));
        for (int i = 1; i <= 5; i++)
        {
            await log.AppendAsync([Event("a", $"{i}", id: $"id{i}")]);
        }

        await log.AppendAsync([Event("b", "6")]);

        // Act
        await log.TrimAsync();

        // Assert
        await AssertTrimmedAsync(log, ["a"], kept: [3, 4, 5], floor: 2);
        // A shared stream knows its first kept sequence, not which topic the events before it were in (NatsEventLog).
        await AssertTrimmedAsync(log, ["b"], kept: [6], floor: engine == "nats" ? 2 : 0);
        Assert.That(await log.FindIdAsync("id1"), Is.Empty, "a trimmed event's id is no longer found");
    }

    [Test]
    public async Task TrimAsync_PerTopicBytes_OldestGoneAndFloorSaysSo()
    {
        NotFor("nats", "JetStream has no per-subject byte limit (NatsEventLog: per-topic retention is a count)");
        // Arrange
        long size = LogRetention.SizeOf(Event("a", "1"));
        var log = _stores.Create(new LogRetention(PerTopicBytes: 3 * size));
        for (int i = 1; i <= 5; i++)
        {
            await log.AppendAsync([Event("a", $"{i}")]);
        }

        // Act
        await log.TrimAsync();

        // Assert
        await AssertTrimmedAsync(log, ["a"], kept: [3, 4, 5], floor: 2);
    }

    [Test]
    public async Task TrimAsync_TotalBytes_OldestGoneFromEveryTopic()
    {
        NotFor("nats", "JetStream counts MaxBytes in its own stored bytes; NatsEventLogTests checks the stream's byte limit");
        // Arrange
        long size = LogRetention.SizeOf(Event("a", "1"));
        var log = _stores.Create(new LogRetention(TotalBytes: 3 * size));
        string[] topics = ["a", "b", "c", "d", "e"];
        for (int i = 1; i <= 5; i++)
        {
            await log.AppendAsync([Event(topics[i - 1], $"{i}")]);
        }

        // Act
        await log.TrimAsync();

        // Assert
        await AssertTrimmedAsync(log, topics: null, kept: [3, 4, 5], floor: 2);
        var gone = await log.ReadAfterAsync(0, ["a"], max: 100);
        Assert.That(gone.Events, Is.Empty);
        Assert.That(gone.Complete, Is.False, "topic a's event went with the overall floor");
        Assert.That((await log.ReadAfterAsync(2, ["a", "c"], max: 100)).Complete, Is.True);
    }

    [Test]
    public async Task TrimAsync_OlderThanMaxAge_GoneAndFloorSaysSo()
    {
        // Arrange
        var log = _stores.Create(new LogRetention(MaxAge: TimeSpan.FromMilliseconds(20)));
        await log.AppendAsync([Event("a", "1"), Event("b", "2")]);

        // Act
        bool aged = await Polling.UntilAsync(async () =>
        {
            await log.TrimAsync();
            return (await log.ReadAfterAsync(0, topics: null, max: 100)).Events.Count == 0;
        }, s_timeout);
        await log.AppendAsync([Event("a", "3")]); // no trim after it: it stays

        // Assert
        Assert.That(aged, Is.True, "the events older than MaxAge went");
        await AssertTrimmedAsync(log, topics: null, kept: [3], floor: 2);
        await AssertTrimmedAsync(log, ["a"], kept: [3], floor: 2);
    }

    [Test]
    public async Task TrimAsync_YoungerThanMaxAge_Kept()
    {
        // Arrange
        var log = _stores.Create(new LogRetention(MaxAge: TimeSpan.FromHours(1)));
        await log.AppendAsync([Event("a", "1"), Event("b", "2")]);

        // Act
        await log.TrimAsync();

        // Assert
        await AssertTrimmedAsync(log, topics: null, kept: [1, 2], floor: 0);
    }

    [Test]
    public async Task TrimAsync_EventOnTwoTopicsTrimmedFromOne_StillReadThroughTheOther()
    {
        NotFor("nats", "a JetStream message has one subject: an event on several topics counts against the stream's multi-topic subject, not each topic (NatsEventLog)");
        // Arrange
        var log = _stores.Create(new LogRetention(PerTopicCount: 2));
        await log.AppendAsync([Event(["a", "b"], "1", id: "one")]);
        await log.AppendAsync([Event("a", "2")]);
        await log.AppendAsync([Event("a", "3")]);

        // Act
        await log.TrimAsync();

        // Assert
        var a = await log.ReadAfterAsync(0, ["a"], max: 100);
        Assert.That(a.Events.Select(e => e.Sequence), Is.EqualTo(new long[] { 1, 2, 3 }), "event 1 is still kept (for b), and names a");
        Assert.That(a.Complete, Is.False, "topic a let event 1 go");
        var aAfterFloor = await log.ReadAfterAsync(1, ["a"], max: 100);
        Assert.That(aAfterFloor.Events.Select(e => e.Sequence), Is.EqualTo(new long[] { 2, 3 }));
        Assert.That(aAfterFloor.Complete, Is.True);
        await AssertTrimmedAsync(log, ["b"], kept: [1], floor: 0);
        var both = await log.ReadAfterAsync(0, ["a", "b"], max: 100);
        Assert.That(both.Events.Select(e => e.Sequence), Is.EqualTo(new long[] { 1, 2, 3 }));
        Assert.That(both.Complete, Is.False, "topic a lost event 1");
        var all = await log.ReadAfterAsync(0, topics: null, max: 100);
        Assert.That(all.Events.Select(e => e.Sequence), Is.EqualTo(new long[] { 1, 2, 3 }), "event 1 is still kept, for b");
        Assert.That(all.Complete, Is.False, "a read of every topic includes a's history");
        Assert.That(await log.FindIdAsync("one"), Is.EqualTo(new long[] { 1 }), "an event kept for one topic is found by its id");
    }

    [Test]
    public async Task TrimAsync_EventOnTwoTopicsTrimmedFromBoth_Gone()
    {
        NotFor("nats", "a JetStream message has one subject: an event on several topics counts against the stream's multi-topic subject, not each topic (NatsEventLog)");
        // Arrange
        var log = _stores.Create(new LogRetention(PerTopicCount: 1));
        await log.AppendAsync([Event(["a", "b"], "1")]);
        await log.AppendAsync([Event("a", "2")]);
        await log.AppendAsync([Event("b", "3")]);

        // Act
        await log.TrimAsync();

        // Assert
        await AssertTrimmedAsync(log, ["a"], kept: [2], floor: 1);
        await AssertTrimmedAsync(log, ["b"], kept: [3], floor: 1);
        var all = await log.ReadAfterAsync(0, topics: null, max: 100);
        Assert.That(all.Events.Select(e => e.Sequence), Is.EqualTo(new long[] { 2, 3 }));
    }

    [Test]
    public async Task FindIdAsync_CustomIds_NewestFirstAtMostTwo()
    {
        // Arrange
        var log = _stores.Create();
        await log.AppendAsync([
            Event("a", "1", id: "x"), Event("a", "2", id: "once"), Event("b", "3", id: "x"), Event("a", "4"), Event("a", "5", id: "x"),
            Event("a", "6", id: "twice"), Event("a", "7", id: "twice")]);

        // Act
        var x = await log.FindIdAsync("x");
        var once = await log.FindIdAsync("once");
        var twice = await log.FindIdAsync("twice");
        var none = await log.FindIdAsync("none");

        // Assert
        Assert.That(x, Is.EqualTo(new long[] { 5, 3 }), "newest first, at most two");
        Assert.That(once, Is.EqualTo(new long[] { 2 }));
        Assert.That(twice, Is.EqualTo(new long[] { 7, 6 }), "a duplicate id gives two");
        Assert.That(none, Is.Empty);
    }

    [Test]
    public async Task ReadAfterAsync_EveryField_RoundTripsExactly()
    {
        // Arrange
        var log = _stores.Create();
        var sink = new RecordingSink();
        log.Attach(sink);
        const string data = "line one\nline two\r\nline three\rend: ünïcödé 日本語 🎉\n\n";
        var sent = new[]
        {
            new NewEvent(["a", "topic/with spaces", "ü"], new SseEvent(data, type: "update", id: "my-id", retry: 2500), IsPrivate: true),
            new NewEvent(["a"], new SseEvent(""), IsPrivate: false),
        };

        // Act
        await log.AppendAsync(sent);
        var read = await log.ReadAfterAsync(0, topics: null, max: 10);

        // Assert
        foreach (var got in new[] { read.Events, sink.Applied })
        {
            Assert.That(got, Has.Count.EqualTo(2));
            Assert.That(got[0].Topics, Is.EqualTo(new[] { "a", "topic/with spaces", "ü" }));
            Assert.That(got[0].Event.Data, Is.EqualTo(data));
            Assert.That(got[0].Event.Type, Is.EqualTo("update"));
            Assert.That(got[0].Event.Id, Is.EqualTo("my-id"));
            Assert.That(got[0].Event.Retry, Is.EqualTo(2500));
            Assert.That(got[0].IsPrivate, Is.True);
            Assert.That(got[1].Topics, Is.EqualTo(new[] { "a" }));
            Assert.That(got[1].Event.Data, Is.Empty);
            Assert.That(got[1].Event.Type, Is.Null);
            Assert.That(got[1].Event.Id, Is.Null);
            Assert.That(got[1].Event.Retry, Is.Null);
            Assert.That(got[1].IsPrivate, Is.False);
        }

        Assert.That(read.Events[0].Time, Is.EqualTo(sink.Applied[0].Time), "the read and the sink agree on the time");
        Assert.That(read.Events[0].Time, Is.EqualTo(DateTimeOffset.UtcNow).Within(TimeSpan.FromMinutes(1)));
    }

    [Test]
    public async Task Epoch_TwoLogs_DifferentAndAPositionOfOneIsNotTheOthers()
    {
        // Arrange
        var first = _stores.Create();
        var second = _stores.Create();
        await first.AppendAsync([Event("a", "1")]);
        await second.AppendAsync([Event("a", "1")]);

        // Act
        string idOfFirst = new EventIds(first.Epoch).Format(1);
        bool secondTakesIt = new EventIds(second.Epoch).TryParse(idOfFirst, out _);
        bool firstTakesIt = new EventIds(first.Epoch).TryParse(idOfFirst, out long position);

        // Assert
        Assert.That(EventIds.IsEpoch(first.Epoch) && EventIds.IsEpoch(second.Epoch), Is.True, $"{first.Epoch}, {second.Epoch}");
        Assert.That(first.Epoch, Is.Not.EqualTo(second.Epoch));
        Assert.That(secondTakesIt, Is.False, "an id of another epoch names none of this log's positions");
        Assert.That(firstTakesIt && position == 1, Is.True);
    }

    internal static NewEvent Event(string topic, string data, string? id = null) => Event([topic], data, id);

    internal static NewEvent Event(string[] topics, string data, string? id = null) => new(topics, new SseEvent(data, id: id));

    // What a read after 0 and a read after the floor say once retention ran: the kept events, incomplete from before
    // the floor and complete from it.
    // An engine that cannot keep one part of the contract says so, and the test says which and why.
    private void NotFor(string skipped, string why)
    {
        if (engine == skipped)
        {
            Assert.Ignore(why);
        }
    }

    private static async Task AssertTrimmedAsync(IEventLog log, string[]? topics, long[] kept, long floor)
    {
        string which = topics is null ? "every topic" : string.Join(",", topics);
        var fromStart = await log.ReadAfterAsync(0, topics, max: 1000);
        var fromFloor = await log.ReadAfterAsync(floor, topics, max: 1000);
        Assert.That(fromStart.Events.Select(e => e.Sequence), Is.EqualTo(kept), $"kept in {which}");
        Assert.That(fromStart.Complete, Is.EqualTo(floor == 0), $"a read of {which} from 0 is complete only when nothing went");
        Assert.That(fromFloor.Events.Select(e => e.Sequence), Is.EqualTo(kept), $"kept in {which} after the floor {floor}");
        Assert.That(fromFloor.Complete, Is.True, $"a read of {which} from the floor {floor} is complete");
    }
}
