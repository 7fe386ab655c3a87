using NATS.Client.Core;
using NATS.Client.JetStream;
using RawSse.Sse;
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
    [CancelAfter(60_000)]
    public async Task FollowerLagsPastRetention_TrimmedPositionsReportedLost_ThenTheNextEventsApplied()
    {
        // Arrange: node a's follower is held in its first Apply while b appends far past the per-topic limit
        using var gate = new ManualResetEventSlim();
        var (a, sink, b, last) = await HoldFollowerWhileAppendingAsync(new LogRetention(PerTopicCount: 3), gate, 3000);

        // Act
        gate.Set();
        bool caughtUp = await Polling.UntilAsync(() => a.Head == last, s_timeout);

        // Assert
        Assert.That(caughtUp, Is.True, $"a caught up to {last} (head {a.Head})");
        var lost = sink.LostRanges;
        var applied = sink.Applied.Select(e => e.Sequence).ToList();
        Assert.That(lost, Is.Not.Empty, "JetStream trimmed what a had not read: a said so");
        Assert.That(applied, Is.Ordered.Ascending.And.Unique);
        Assert.That(applied[^1], Is.EqualTo(last));
        foreach (var (after, through) in lost)
        {
            Assert.That(applied, Has.None.InRange(after + 1, through), $"nothing applied in the lost range ({after}, {through}]");
            Assert.That(applied, Has.Member(through + 1), "the next event after a lost range is applied");
        }

        var covered = applied.Count + lost.Sum(r => r.Through - r.After);
        Assert.That(covered, Is.EqualTo(last), "every position either applied or reported lost, none both");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task FollowerLagsWhileTheNewestEventsExpire_NothingLeftToRead_PositionsLostAndReadyAgain()
    {
        // Arrange: a's follower is held while everything after what it had pulled expires (MaxAge 1 s)
        using var gate = new ManualResetEventSlim();
        var (a, sink, b, last) = await HoldFollowerWhileAppendingAsync(new LogRetention(MaxAge: TimeSpan.FromSeconds(1)), gate, 2500);

        bool expired = await Polling.UntilAsync(async () => (await b.ReadAfterAsync(0, topics: null, max: 10)).Events.Count == 0, s_timeout);

        // Act
        gate.Set();
        bool caughtUp = await Polling.UntilAsync(() => a.Head == last && a.IsReady, s_timeout);

        // Assert
        Assert.That(expired, Is.True, "every event expired");
        Assert.That(caughtUp, Is.True, $"a's head reached {last} (it is {a.Head}) and a is ready");
        var applied = sink.Applied.Select(e => e.Sequence).ToList();
        var lost = sink.LostRanges;
        Assert.That(lost, Is.Not.Empty);
        Assert.That(lost[^1].Through, Is.EqualTo(last), "the expired tail was reported lost");
        Assert.That(applied.Count + lost.Sum(r => r.Through - r.After), Is.EqualTo(last), "every position applied or lost, once");
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

        // Act: someone else writes to the stream's subjects: not an envelope, a forged reset, a forged id with a line break
        await js.PublishAsync($"{stream}.t.YQ", "not an event"u8.ToArray());
        await js.PublishAsync($"{stream}.t.YQ", Envelope(topic: "a", id: null, type: "reset", data: "x"));
        await js.PublishAsync($"{stream}.t.YQ", Envelope(topic: "a", id: "a\nid: forged", type: null, data: "x"));
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

        // Act: an operator deletes the stream, and another node creates it anew (a new epoch)
        await DeleteStreamAsync(stream);
        var other = _stores.OpenNats(stream);
        bool noticed = await Polling.UntilAsync(() => !log.IsReady, s_timeout);

        // Assert
        Assert.That(other.Epoch, Is.Not.EqualTo(log.Epoch));
        Assert.That(noticed, Is.True, "the node saw its stream replaced");
        var refused = Assert.ThrowsAsync<EventLogUnavailableException>(async () => await log.AppendAsync([Event("a", "2")]));
        Assert.That(refused!.Message, Does.Contain("restart"));
    }

    [Test]
    public async Task StreamDeleted_NodeNotReadyAndAppendsFailAtOnce()
    {
        // Arrange
        string stream = NatsServer.NewStreamName();
        var log = _stores.OpenNats(stream);
        await log.AppendAsync([Event("a", "1")]);

        // Act
        await DeleteStreamAsync(stream);
        bool noticed = await Polling.UntilAsync(() => !log.IsReady, s_timeout);
        var started = System.Diagnostics.Stopwatch.StartNew();
        var refused = Assert.ThrowsAsync<EventLogUnavailableException>(async () => await log.AppendAsync([Event("a", "2")]));

        // Assert
        Assert.That(noticed, Is.True, "not ready once its stream is gone");
        Assert.That(refused!.Message, Does.Contain("gone"));
        Assert.That(started.Elapsed, Is.LessThan(NatsEventLog.AppendTimeout), "refused at once, not after the acknowledgement deadline");
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

    [TestCase("nats://alice:s%3Acret@host:4222", "alice", "s:cret", null)]
    [TestCase("nats://t0ken@host:4222", null, null, "t0ken")]
    public void TryParse_Credentials_UserAndPasswordOrToken(string spec, string? user, string? password, string? token)
    {
        Assert.That(NatsStoreAddress.TryParse(spec, out var address), Is.True);
        Assert.That((address.User, address.Password, address.Token), Is.EqualTo((user, password, token)));
        Assert.That(address.ToString(), Does.Not.Contain("s:cret").And.Not.Contain("t0ken"), "a credential never reaches a log line");
    }

    [Test]
    public async Task Open_ServerRequiringAUser_WrongPasswordRefused_RightOneTaken()
    {
        // Arrange
        await using var server = await NatsServer.StartNewAsync("authorization { user: rawsse, password: \"p4ss-word\" }");
        NatsStoreAddress.TryParse($"nats://rawsse:wrong@127.0.0.1:{server.Port}", out var wrong);
        NatsStoreAddress.TryParse($"nats://rawsse:p4ss-word@127.0.0.1:{server.Port}", out var right);

        // Act
        var refused = Assert.ThrowsAsync<EventLogUnavailableException>(async () => await NatsEventLog.OpenAsync(wrong, LogRetention.Default));
        var log = _stores.Track(await NatsEventLog.OpenAsync(right, LogRetention.Default));
        long position = await log.AppendAsync([Event("t", "1")]);

        // Assert
        Assert.That(refused!.Message, Does.Not.Contain("wrong"), "the password is not in the message");
        Assert.That(position, Is.EqualTo(1));
    }

    [Test]
    public async Task AppendAsync_LargerThanTheServersMaxPayload_EventTooLargeAndNothingAppended()
    {
        // Arrange
        await using var server = await NatsServer.StartNewAsync("max_payload: 4096");
        var log = await OpenAsync(server, NatsServer.NewStreamName());

        // Act
        var refused = Assert.ThrowsAsync<EventTooLargeException>(async () => await log.AppendAsync([Event("t", new string('x', 5000))]));
        long next = await log.AppendAsync([Event("t", "small")]);

        // Assert
        Assert.That(refused!.Message, Does.Contain("max_payload is 4096"));
        Assert.That(next, Is.EqualTo(1), "the refused event took no position");
    }

    [TestCase("nats://")]
    [TestCase("nats://host:4222/a.b")]
    [TestCase("nats://host:4222/a/b")]
    [TestCase("nats://host:4222/s?x=1")]
    [TestCase("http://host:4222")]
    public void TryParse_Invalid_False(string spec) => Assert.That(NatsStoreAddress.TryParse(spec, out _), Is.False);

    [Test]
    public void Envelope_EveryField_RoundTripsAndEveryCutIsRefused()
    {
        // Arrange: what JSON would escape or double, non-ASCII, line breaks, every optional field
        var e = new NewEvent(["a.b *>", "é/{id}", "t"], new SseEvent("\"quoted\" \\ <&> ünïcode 🙂\r\nline two\n", type: "kind", id: "id-1", retry: 1500), IsPrivate: true);
        byte[] payload = NatsEnvelope.Encode(e);
        var time = DateTimeOffset.UnixEpoch;

        // Act
        var decoded = NatsEnvelope.Decode(payload, 7, time);
        var cuts = Enumerable.Range(0, payload.Length).Select(n => NatsEnvelope.Decode(payload.AsSpan(0, n), 7, time)).ToList();

        // Assert
        Assert.That(decoded, Is.Not.Null);
        Assert.That(decoded!.Topics, Is.EqualTo(e.Topics));
        Assert.That((decoded.Event.Data, decoded.Event.Type, decoded.Event.Id, decoded.Event.Retry, decoded.IsPrivate, decoded.Sequence),
            Is.EqualTo((e.Event.Data, "kind", "id-1", (int?)1500, true, 7L)));
        Assert.That(payload.Length, Is.LessThan(System.Text.Encoding.UTF8.GetByteCount(e.Event.Data) + 40), "nothing escaped: data plus a few bytes");
        int dataStart = payload.Length - System.Text.Encoding.UTF8.GetByteCount(e.Event.Data);
        Assert.That(cuts.Take(dataStart), Has.All.Null, "a payload cut before its data is refused, never thrown on");
    }

    // Two nodes on a fresh stream: node a's follower is held in its first Apply (at `gate`) while node b appends
    // `count` more events. Returns a, its sink, b, and the last position b appended.
    private async Task<(NatsEventLog A, RecordingSink Sink, NatsEventLog B, long Last)> HoldFollowerWhileAppendingAsync(LogRetention retention, ManualResetEventSlim gate, int count)
    {
        string stream = NatsServer.NewStreamName();
        var a = _stores.OpenNats(stream, retention);
        var b = _stores.OpenNats(stream, retention);
        var sink = new RecordingSink { Gate = gate };
        a.Attach(sink);
        await b.AppendAsync([Event("t", "first")]);
        Assert.That(sink.AtGate.Wait(s_timeout), Is.True, "a's follower is at the gate");
        long last = 0;
        for (int i = 0; i < count; i++)
        {
            last = await b.AppendAsync([Event("t", $"{i}")]);
        }

        return (a, sink, b, last);
    }

    // As an operator would, from outside RawSse.
    private static async Task DeleteStreamAsync(string stream)
    {
        var server = await NatsServer.SharedAsync();
        await using var nats = new NatsConnection(new NatsOpts { Url = server.Url });
        await new NatsJSContext(nats).DeleteStreamAsync(stream);
    }

    // A payload laid out as NatsEnvelope's (version 1, no flags), with fields SseEvent itself would refuse.
    private static byte[] Envelope(string topic, string? id, string? type, string data)
    {
        var bytes = new List<byte> { 1, 0, 1 };
        void Add(string? value, bool plusOne)
        {
            if (value is null)
            {
                bytes.Add(0);
                return;
            }

            var utf8 = System.Text.Encoding.UTF8.GetBytes(value);
            bytes.Add((byte)(utf8.Length + (plusOne ? 1 : 0)));
            bytes.AddRange(utf8);
        }

        Add(topic, plusOne: false);
        Add(id, plusOne: true);
        Add(type, plusOne: true);
        bytes.Add(0); // no retry
        bytes.AddRange(System.Text.Encoding.UTF8.GetBytes(data));
        return [.. bytes];
    }

    private async Task<NatsEventLog> OpenAsync(NatsServer server, string stream)
    {
        NatsStoreAddress.TryParse(server.StoreSpec(stream), out var address);
        return _stores.Track(await NatsEventLog.OpenAsync(address, LogRetention.Default));
    }
}
