using NATS.Client.Core;
using NATS.Client.JetStream;
using RawSse.Store;
using static RawSse.Tests.EventLogContractTests;

namespace RawSse.Tests;

/// <summary>
/// What the JetStream log does beyond the contract (<see cref="EventLogContractTests"/>): several nodes on one
/// stream, a lost NATS server, the stream's byte limit, a foreign message, a stream created again. Each test has its
/// own stream; the tests that stop a server have their own server.
/// </summary>
[TestFixture]
public sealed class NatsEventLogTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(15);

    private EventLogStores _stores = null!;

    [SetUp]
    public void SetUp() => _stores = new EventLogStores("nats");

    [TearDown]
    public async Task TearDown() => await _stores.DisposeAsync();

    [Test]
    public async Task TwoNodes_AppendingAtOnce_BothSinksSeeEveryEventOnceInTheSameOrder()
    {
        // Arrange
        string stream = NatsServer.NewStreamName();
        var a = _stores.OpenNats(stream);
        var b = _stores.OpenNats(stream);
        var sinkA = new RecordingSink();
        var sinkB = new RecordingSink();
        a.Attach(sinkA);
        b.Attach(sinkB);

        // Act: both nodes append 300 events each, concurrently
        async Task<List<long>> AppendAll(IEventLog log, string node)
        {
            var positions = new List<long>();
            for (int i = 0; i < 300; i++)
            {
                positions.Add(await log.AppendAsync([Event("t", $"{node}{i}")]));
            }

            return positions;
        }

        var both = await Task.WhenAll(AppendAll(a, "a"), AppendAll(b, "b")).WaitAsync(s_timeout);
        bool caughtUp = await Polling.UntilAsync(() => sinkA.Applied.Count == 600 && sinkB.Applied.Count == 600, s_timeout);

        // Assert
        Assert.That(caughtUp, Is.True, $"both nodes applied all 600 events (a: {sinkA.Applied.Count}, b: {sinkB.Applied.Count})");
        var seenA = sinkA.Applied.Select(e => (e.Sequence, e.Event.Data)).ToList();
        var seenB = sinkB.Applied.Select(e => (e.Sequence, e.Event.Data)).ToList();
        Assert.That(seenB, Is.EqualTo(seenA), "the same events at the same positions, in the same order, on both nodes");
        Assert.That(seenA.Select(e => e.Sequence), Is.EqualTo(Enumerable.Range(1, 600).Select(i => (long)i)));
        Assert.That(both.SelectMany(p => p).Order(), Is.EqualTo(Enumerable.Range(1, 600).Select(i => (long)i)), "each append got its own position");
        Assert.That(a.Epoch, Is.EqualTo(b.Epoch), "one stream, one epoch: every node names an event alike");
        Assert.That(a.Head, Is.EqualTo(600));
        Assert.That(b.Head, Is.EqualTo(600));
    }

    [Test]
    public async Task Open_ExistingStream_SameEpochFollowingFromItsNewestPosition()
    {
        // Arrange
        string stream = NatsServer.NewStreamName();
        var first = _stores.OpenNats(stream);
        await first.AppendAsync([Event("t", "1"), Event("t", "2")]);

        // Act
        var second = _stores.OpenNats(stream);
        var sink = new RecordingSink();
        second.Attach(sink);
        long third = await first.AppendAsync([Event("t", "3")]);
        bool applied = await Polling.UntilAsync(() => sink.Has(third), s_timeout);

        // Assert
        Assert.That(second.Epoch, Is.EqualTo(first.Epoch));
        Assert.That(applied, Is.True, "the second node applied what the first appended after it opened");
        Assert.That(sink.Applied.Select(e => e.Event.Data), Is.EqualTo(new[] { "3" }), "a node opens at the stream's newest position; the older events are the stream's to read");
        var older = await second.ReadAfterAsync(0, ["t"], max: 10);
        Assert.That(older.Events.Select(e => e.Event.Data), Is.EqualTo(new[] { "1", "2", "3" }));
        Assert.That(older.Complete, Is.True);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task NatsServerRestarted_AppendsFailFastMeanwhile_ThenTheFollowerCatchesUpWithNoGapAndNoDuplicate()
    {
        // Arrange: its own server, which it stops
        await using var server = await NatsServer.StartNewAsync();
        string stream = NatsServer.NewStreamName();
        var a = await OpenAsync(server, stream);
        var b = await OpenAsync(server, stream);
        var sinkA = new RecordingSink();
        a.Attach(sinkA);
        for (int i = 1; i <= 5; i++)
        {
            await a.AppendAsync([Event("t", $"{i}")]);
        }

        // Act: the server goes away, and comes back with its store
        await server.StopAsync();
        bool noticed = await Polling.UntilAsync(() => !a.IsReady, s_timeout);
        var refused = Assert.ThrowsAsync<EventLogUnavailableException>(async () => await a.AppendAsync([Event("t", "lost")]));
        await server.StartAsync();
        bool ready = await Polling.UntilAsync(() => a.IsReady && b.IsReady, s_timeout);
        long last = 0;
        for (int i = 6; i <= 10; i++)
        {
            last = await b.AppendAsync([Event("t", $"{i}")]); // from the other node: a must read them back
        }

        bool caughtUp = await Polling.UntilAsync(() => sinkA.Has(last), s_timeout);

        // Assert
        Assert.That(noticed, Is.True, "not ready without the server");
        Assert.That(refused!.Message, Does.Contain("not connected").Or.Contain("acknowledge"), "an append without a server fails, at once or at its deadline");
        Assert.That(ready, Is.True, "ready again once reconnected and caught up");
        Assert.That(caughtUp, Is.True, "a applied what b appended after the restart");
        Assert.That(sinkA.Applied.Select(e => e.Event.Data), Is.EqualTo(Enumerable.Range(1, 10).Select(i => $"{i}")), "no gap, no duplicate, nothing refused");
        Assert.That(sinkA.Applied.Select(e => e.Sequence), Is.EqualTo(Enumerable.Range(1, 10).Select(i => (long)i)));
        Assert.That(a.Reconnects, Is.GreaterThanOrEqualTo(1));
        Assert.That(a.Lag, Is.Zero);
    }

    [Test]
    public async Task CatchUpAsync_PositionAnotherNodeAppended_TrueOnceApplied_BeyondTheStream_False()
    {
        // Arrange
        string stream = NatsServer.NewStreamName();
        var a = _stores.OpenNats(stream);
        var b = _stores.OpenNats(stream);
        long position = await b.AppendAsync([Event("t", "from b")]);

        // Act
        bool reached = await a.CatchUpAsync(position);
        bool beyond = await a.CatchUpAsync(position + 1);

        // Assert
        Assert.That(reached, Is.True);
        Assert.That(a.Head, Is.GreaterThanOrEqualTo(position), "true means applied here");
        Assert.That(beyond, Is.False, "a position the stream never had is not waited for");
    }

    [Test]
    public async Task StreamByteLimit_OldestGone_ReadFromBeforeTheFirstKeptIsIncomplete()
    {
        // Arrange: room for a few hundred events of 1 KiB
        var log = _stores.Create(new LogRetention(TotalBytes: 256 * 1024));
        string data = new('x', 1024);
        for (int i = 0; i < 1000; i++)
        {
            await log.AppendAsync([Event(i % 2 == 0 ? "a" : "b", data)]);
        }

        // Act
        var all = await log.ReadAfterAsync(0, topics: null, max: 10_000);
        long firstKept = all.Events[0].Sequence;
        var fromFirstKept = await log.ReadAfterAsync(firstKept - 1, topics: null, max: 10_000);
        var topicFromZero = await log.ReadAfterAsync(0, ["a"], max: 10_000);
        var topicFromFirstKept = await log.ReadAfterAsync(firstKept - 1, ["a"], max: 10_000);

        // Assert
        Assert.That(firstKept, Is.GreaterThan(1), "JetStream let the oldest events go");
        Assert.That(all.Complete, Is.False, "the read from 0 missed what went");
        Assert.That(all.Events.Select(e => e.Sequence), Is.EqualTo(Enumerable.Range((int)firstKept, 1000 - (int)firstKept + 1).Select(i => (long)i)));
        Assert.That(fromFirstKept.Complete, Is.True);
        Assert.That(topicFromZero.Complete, Is.False);
        Assert.That(topicFromFirstKept.Complete, Is.True);
        Assert.That(topicFromFirstKept.Events, Has.All.Matches<LoggedEvent>(e => e.Topics[0] == "a"));
    }

    [Test]
    public async Task ForeignMessageOnTheStream_Skipped_NextEventsApplied()
    {
        // Arrange
        string stream = NatsServer.NewStreamName();
        var log = _stores.OpenNats(stream);
        var sink = new RecordingSink();
        log.Attach(sink);
        var server = await NatsServer.SharedAsync();
        await using var nats = new NatsConnection(new NatsOpts { Url = server.Url });
        var js = new NatsJSContext(nats);

        // Act: someone else writes to the stream's subjects, among them an attempt to forge a reset
        await js.PublishAsync($"{stream}.t.eA", "not json"u8.ToArray());
        await js.PublishAsync($"{stream}.t.eA", """{"t":["a"],"d":"x","e":"reset"}"""u8.ToArray());
        await js.PublishAsync($"{stream}.t.eA", """{"t":["a"],"d":"x","i":"a\nid: forged"}"""u8.ToArray());
        long real = await log.AppendAsync([Event("a", "real")]);

        // Assert
        Assert.That(real, Is.EqualTo(4), "the foreign messages took positions 1 to 3");
        Assert.That(sink.Applied.Select(e => (e.Sequence, e.Event.Data)), Is.EqualTo(new[] { (4L, "real") }), "only the real event was applied");
        Assert.That(log.Head, Is.EqualTo(4));
    }

    [Test]
    public async Task StreamCreatedAgain_NodeStopsTakingAppendsAndIsNotReady()
    {
        // Arrange
        string stream = NatsServer.NewStreamName();
        var log = _stores.OpenNats(stream);
        await log.AppendAsync([Event("a", "1")]);
        var server = await NatsServer.SharedAsync();
        await using var nats = new NatsConnection(new NatsOpts { Url = server.Url });
        var js = new NatsJSContext(nats);

        // Act: an operator deletes the stream, and another node creates it anew (a new epoch)
        await js.DeleteStreamAsync(stream);
        var other = _stores.OpenNats(stream);
        bool noticed = await Polling.UntilAsync(() => !log.IsReady, s_timeout);

        // Assert
        Assert.That(other.Epoch, Is.Not.EqualTo(log.Epoch));
        Assert.That(noticed, Is.True, "the node saw its stream replaced");
        var refused = Assert.ThrowsAsync<EventLogUnavailableException>(async () => await log.AppendAsync([Event("a", "2")]));
        Assert.That(refused!.Message, Does.Contain("restart"));
    }

    [Test]
    public async Task Unreachable_Open_FailsWithTheAddress()
    {
        // Arrange: a port nothing listens on
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        int port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        NatsStoreAddress.TryParse($"nats://127.0.0.1:{port}", out var address);

        // Act + Assert
        var refused = Assert.ThrowsAsync<EventLogUnavailableException>(async () => await NatsEventLog.OpenAsync(address, LogRetention.Default));
        Assert.That(refused!.Message, Does.Contain($"127.0.0.1:{port}"));
    }

    [TestCase("nats://127.0.0.1:4222", "nats://127.0.0.1:4222", "rawsse")]
    [TestCase("nats://localhost", "nats://localhost:4222", "rawsse")]
    [TestCase("nats://10.0.0.5:5222/orders", "nats://10.0.0.5:5222", "orders")]
    public void TryParse_Valid_UrlAndStream(string spec, string url, string stream)
    {
        Assert.That(NatsStoreAddress.TryParse(spec, out var address), Is.True);
        Assert.That(address, Is.EqualTo(new NatsStoreAddress(url, stream)));
    }

    [TestCase("nats://")]
    [TestCase("nats://host:4222/a.b")]
    [TestCase("nats://host:4222/a/b")]
    [TestCase("nats://host:4222/s?x=1")]
    [TestCase("nats://user:pw@host:4222")]
    [TestCase("http://host:4222")]
    public void TryParse_Invalid_False(string spec) => Assert.That(NatsStoreAddress.TryParse(spec, out _), Is.False);

    private async Task<NatsEventLog> OpenAsync(NatsServer server, string stream)
    {
        NatsStoreAddress.TryParse(server.StoreSpec(stream), out var address);
        return _stores.Track(await NatsEventLog.OpenAsync(address, LogRetention.Default));
    }
}
