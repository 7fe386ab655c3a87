using System.Globalization;
using System.Net;

namespace RawSse.Tests;

/// <summary>
/// Three RawSse processes on one nats-server (each test its own server and stream): a publish on any node reaches
/// the subscribers of every node in the same order with the same ids; a subscriber moving between nodes with its
/// Last-Event-ID gets exactly what it missed; a node killed with SIGKILL under a continuous publisher, and a NATS server
/// restarted under load, lose nothing for clients that reconnect.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class ClusterProcessTests
{
    private static readonly TimeSpan s_deadline = TimeSpan.FromSeconds(30);

    private NatsServer _nats = null!;
    private string _store = null!;

    [SetUp]
    public async Task SetUp()
    {
        _nats = await NatsServer.StartNewAsync();
        _store = _nats.StoreSpec(NatsServer.NewStreamName());
    }

    [TearDown]
    public async Task TearDown() => await _nats.DisposeAsync();

    [Test]
    [CancelAfter(120_000)]
    public async Task PublishOnEveryNode_SubscribersOnEveryNode_SameEventsSameIdsSameOrder()
    {
        // Arrange
        var nodes = await ClusterNode.StartManyAsync(3, _store);
        try
        {
            var subscribers = nodes.Select(n => new FollowingSubscriber(() => n.Port, "t")).ToList();
            await Task.WhenAll(subscribers.Select(s => s.Opened)).WaitAsync(s_deadline);

            // Act: each node takes 100 publishes, all at once
            var acked = await Task.WhenAll(nodes.Select((n, i) => PublishManyAsync(n.Port, $"n{i}-", 100)));
            var all = acked.SelectMany(a => a).ToList();
            bool delivered = await Polling.UntilAsync(() => subscribers.All(s => all.All(a => s.Has(a.Id))), s_deadline);

            // Assert
            Assert.That(delivered, Is.True, "every acknowledged event reached every node's subscriber");
            var first = subscribers[0].Events;
            Assert.That(first.Select(e => e.Id), Is.Unique);
            Assert.That(first.Select(e => Sequence(e.Id)), Is.Ordered.Ascending, "in stream order");
            Assert.That(first.Select(e => e.Id), Is.EquivalentTo(all.Select(a => a.Id)));
            foreach (var other in subscribers.Skip(1))
            {
                Assert.That(other.Events, Is.EqualTo(first), "the same events, ids and order on every node");
            }

            foreach (var (id, data) in all)
            {
                Assert.That(first.Single(e => e.Id == id).Data, Is.EqualTo(data), $"{id} carries what was published");
            }

            await Task.WhenAll(subscribers.Select(s => s.DisposeAsync().AsTask()));
        }
        finally
        {
            DisposeAll(nodes);
        }
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task SubscriberMovesFromAToB_WithLastEventId_GetsExactlyWhatItMissed()
    {
        // Arrange
        var nodes = await ClusterNode.StartManyAsync(2, _store);
        try
        {
            var before = await PublishManyAsync(nodes[0].Port, "before-", 20);
            string lastSeen = before[9].Id;

            // Act: a client that saw the first ten on A comes back on B
            var missed = before.Skip(10).Concat(await PublishManyAsync(nodes[1].Port, "after-", 5)).ToList();
            var resumed = await ReadAsync(nodes[1].Port, lastSeen, missed.Count);

            // Assert
            Assert.That(resumed, Is.EqualTo(missed), "exactly the events after its id, once, in order, with A's ids");
        }
        finally
        {
            DisposeAll(nodes);
        }
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task Kill9OfANode_UnderAContinuousPublisher_ItsClientsResumeElsewhereAndLoseNothing()
    {
        // Arrange: subscribers on A (which dies) and C; the publisher talks to B
        var nodes = await ClusterNode.StartManyAsync(3, _store);
        try
        {
            var a = nodes[0];
            var onA = new FollowingSubscriber(() => a.HasExited ? nodes[2].Port : a.Port, "t"); // the balancer moves it to C
            var onC = new FollowingSubscriber(() => nodes[2].Port, "t");
            await Task.WhenAll(onA.Opened, onC.Opened).WaitAsync(s_deadline);
            await using var publisher = new ContinuousPublisher(() => nodes[1].Port);
            bool started = await Polling.UntilAsync(() => publisher.Acked.Count >= 200 && onA.Events.Count >= 100, s_deadline);
            Assert.That(started, Is.True, "publishing and delivering before the kill");

            // Act
            a.Kill();
            int ackedAtKill = publisher.Acked.Count;
            bool more = await Polling.UntilAsync(() => publisher.Acked.Count >= ackedAtKill + 300, s_deadline);
            await publisher.StopAsync();
            var acked = publisher.Acked;
            bool delivered = await Polling.UntilAsync(() => acked.All(x => onA.Has(x.Id) && onC.Has(x.Id)), s_deadline);

            // Assert
            TestContext.Out.WriteLine($"{acked.Count} acknowledged ({ackedAtKill} before the kill); the moved client opened {onA.Opens} streams and got {onA.Events.Count} events");
            Assert.That(more, Is.True, "publishing went on after the kill");
            Assert.That(onA.Opens, Is.GreaterThanOrEqualTo(2), "the client of the killed node reconnected");
            Assert.That(delivered, Is.True, "every acknowledged event reached both clients");
            AssertExactlyOnceInOrder(onA, acked);
            AssertExactlyOnceInOrder(onC, acked);
            Assert.That(onA.Events.Select(e => e.Id), Is.EqualTo(onC.Events.Select(e => e.Id)), "the moved client saw what the other saw");
            await onA.DisposeAsync();
            await onC.DisposeAsync();
        }
        finally
        {
            DisposeAll(nodes);
        }
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task NatsServerRestart_UnderLoad_StreamsStayOpenAndNothingAcknowledgedIsLost()
    {
        // Arrange
        var nodes = await ClusterNode.StartManyAsync(2, _store);
        try
        {
            var subscribers = nodes.Select(n => new FollowingSubscriber(() => n.Port, "t")).ToList();
            await Task.WhenAll(subscribers.Select(s => s.Opened)).WaitAsync(s_deadline);
            await using var publisher = new ContinuousPublisher(() => nodes[0].Port);
            bool started = await Polling.UntilAsync(() => publisher.Acked.Count >= 200, s_deadline);
            Assert.That(started, Is.True);

            var token = TestContext.CurrentContext.CancellationToken;
            int readyBefore = await nodes[1].StatusAsync("/readyz", token);

            // Act: the NATS server dies and comes back with its store
            await _nats.StopAsync();
            bool refused = await Polling.UntilAsync(() => publisher.Refused > 0, s_deadline);
            bool unready = await Polling.UntilAsync(async () => await nodes[1].StatusAsync("/readyz", token) == 503, s_deadline);
            int aliveMeanwhile = await nodes[1].StatusAsync("/healthz", token);
            await _nats.StartAsync();
            int ackedAtRestart = publisher.Acked.Count;
            bool more = await Polling.UntilAsync(() => publisher.Acked.Count >= ackedAtRestart + 300, s_deadline);
            bool readyAgain = await Polling.UntilAsync(async () => await nodes[1].StatusAsync("/readyz", token) == 200, s_deadline);
            double reconnects = await nodes[1].MetricAsync("rawsse_store_reconnects_total", token);
            await publisher.StopAsync();
            var acked = publisher.Acked;
            bool delivered = await Polling.UntilAsync(() => subscribers.All(s => acked.All(x => s.Has(x.Id))), s_deadline);

            // Assert
            TestContext.Out.WriteLine($"{acked.Count} acknowledged ({ackedAtRestart} before the restart), {publisher.Refused} refused; subscribers got {string.Join(", ", subscribers.Select(s => s.Events.Count))}");
            Assert.That(readyBefore, Is.EqualTo(200), "ready while connected and caught up");
            Assert.That(unready, Is.True, "/readyz answered 503 while the store was away");
            Assert.That(aliveMeanwhile, Is.EqualTo(200), "/healthz: the process itself was fine");
            Assert.That(readyAgain, Is.True, "/readyz answered 200 again once reconnected and caught up");
            Assert.That(reconnects, Is.GreaterThanOrEqualTo(1), "the reconnect was counted");
            Assert.That(refused, Is.True, "publishes were refused (503) while the store was away");
            Assert.That(more, Is.True, "publishing went on after the restart");
            Assert.That(delivered, Is.True, "every acknowledged event reached every subscriber");
            foreach (var subscriber in subscribers)
            {
                Assert.That(subscriber.Opens, Is.EqualTo(1), "the stream stayed open through the outage");
                AssertExactlyOnceInOrder(subscriber, acked);
            }

            await Task.WhenAll(subscribers.Select(s => s.DisposeAsync().AsTask()));
        }
        finally
        {
            DisposeAll(nodes);
        }
    }

    private static void DisposeAll(ClusterNode[] nodes)
    {
        foreach (var node in nodes)
        {
            node.Dispose();
        }
    }

    // Every acknowledged event once, in stream order, no reset; an event whose publish got a 503 (its acknowledgement
    // lost with the connection) may be there too, once, under its own id.
    private static void AssertExactlyOnceInOrder(FollowingSubscriber subscriber, IReadOnlyList<(string Id, string Data)> acked)
    {
        var events = subscriber.Events;
        Assert.That(events.Where(e => e.Type == "reset"), Is.Empty, "no reset: nothing was lost");
        Assert.That(events.Select(e => e.Id), Is.Unique, "no event twice");
        Assert.That(events.Select(e => Sequence(e.Id)), Is.Ordered.Ascending, "in stream order");
        Assert.That(events.Select(e => e.Id), Is.SupersetOf(acked.Select(a => a.Id)), "every acknowledged event");
    }

    private static long Sequence(string id) => long.Parse(id[(id.IndexOf('-') + 1)..], CultureInfo.InvariantCulture);

    private static Task<List<(string Id, string Data)>> PublishManyAsync(int port, string prefix, int count) =>
        Publishing.SeriesAsync(port, "t", prefix, count, s_deadline);

    // The events after lastEventId, up to `count` of them, from a fresh stream on `port`.
    private static async Task<List<(string Id, string Data)>> ReadAsync(int port, string lastEventId, int count)
    {
        using var client = await RawClient.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), timeout: s_deadline);
        await client.SendAsync($"GET /sse?topic=t HTTP/1.1\r\nHost: localhost\r\nLast-Event-ID: {lastEventId}\r\n\r\n");
        var head = await client.ReadResponseAsync(expectBody: false, s_deadline);
        Assert.That(head.Status, Is.EqualTo(200), head.RawHead);
        var frames = await SseStream.ReadFramesAsync(client, count + 1, s_deadline); // the retry frame, then the events
        return SseStream.Parse(string.Concat(frames)).Select(e => (e.EventId!, e.Data)).ToList();
    }

    /// <summary>Publishes p0, p1, ... one after the other on keep-alive connections until stopped; a refusal or a lost connection is retried with the next number.</summary>
    private sealed class ContinuousPublisher : IAsyncDisposable
    {
        private readonly Func<int> _pick;
        private readonly Lock _lock = new();
        private readonly List<(string Id, string Data)> _acked = []; // guarded by _lock
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;
        private int _refused;

        public ContinuousPublisher(Func<int> pick)
        {
            _pick = pick;
            _loop = Task.Run(() => RunAsync(_stop.Token));
        }

        public IReadOnlyList<(string Id, string Data)> Acked
        {
            get { lock (_lock) { return [.. _acked]; } }
        }

        public int Refused => Volatile.Read(ref _refused);

        public async Task StopAsync()
        {
            _stop.Cancel();
            await _loop;
        }

        public async ValueTask DisposeAsync()
        {
            await StopAsync();
            _stop.Dispose();
        }

        private async Task RunAsync(CancellationToken cancellationToken)
        {
            int n = 0;
            while (!cancellationToken.IsCancellationRequested)
            {
                try
                {
                    using var connection = await RawClient.ConnectAsync(new IPEndPoint(IPAddress.Loopback, _pick()), timeout: TimeSpan.FromSeconds(5));
                    while (!cancellationToken.IsCancellationRequested)
                    {
                        string data = "p" + (n++).ToString(CultureInfo.InvariantCulture);
                        var response = await Publishing.SendAsync(connection, $"topic=t&data={data}", TimeSpan.FromSeconds(10), host: "localhost");
                        if (response.Status == 200)
                        {
                            lock (_lock)
                            {
                                _acked.Add((response.BodyText, data));
                            }
                        }
                        else
                        {
                            Interlocked.Increment(ref _refused);
                            await Task.Delay(50, cancellationToken);
                        }
                    }
                }
                catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or TimeoutException or FormatException)
                {
                    await Task.Delay(50, CancellationToken.None);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    return;
                }
            }
        }
    }
}
