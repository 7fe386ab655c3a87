using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using RawSse.Sse;
using RawSse.Transport;

namespace RawSse.Tests;

/// <summary>
/// What keeps streams flowing and the server bounded: heartbeats on quiet streams only, slow consumers cut or
/// thinned without holding up anyone else, the write timeout, and the figures at /metrics and on the Meter.
/// </summary>
[TestFixture]
public sealed partial class FlowControlTests
{
    private const string HeartbeatFrame = ":\n";
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan SettleTimeout = TimeSpan.FromSeconds(10);

    [Test]
    [Category("Timing")]
    public async Task Heartbeat_IdleStream_CommentLinesAboutEveryInterval()
    {
        // Arrange
        var interval = TimeSpan.FromMilliseconds(200);
        await using var server = TestServer.Start(o => o.HeartbeatInterval = interval);
        using var client = await SseStream.OpenStreamAsync(server, "/sse?topic=a", ReadTimeout);
        await server.WaitForSubscribersAsync(1, SettleTimeout);

        // Act: note when each of four heartbeats arrives.
        var clock = Stopwatch.StartNew();
        var arrivals = new List<(string Text, TimeSpan At)>();
        for (int i = 0; i < 4; i++)
        {
            string text = await client.ReadUntilAsync("\n", TimeSpan.FromSeconds(2));
            arrivals.Add((text, clock.Elapsed));
        }

        // Assert: each gap is roughly the interval (the sweep runs every interval/4, and scheduling adds jitter).
        var gaps = arrivals.Zip(arrivals.Skip(1), (a, b) => b.At - a.At).ToList();
        string seen = string.Join(", ", arrivals.Select(a => $"'{Describe.Escape(a.Text)}' at {a.At.TotalMilliseconds:F0} ms"));
        Assert.Multiple(() =>
        {
            Assert.That(arrivals.Select(a => a.Text), Is.All.EqualTo(HeartbeatFrame), $"only heartbeats on an idle stream: {seen}");
            Assert.That(arrivals[^1].At, Is.LessThan(TimeSpan.FromSeconds(3)), $"four heartbeats within a couple of seconds: {seen}");
            Assert.That(gaps, Is.All.InRange(interval / 2, interval * 5), $"gaps near {interval.TotalMilliseconds} ms: {seen}");
        });
    }

    [Test]
    [Category("Timing")]
    public async Task Heartbeat_EventsEvery50ms_NoHeartbeatBetweenEvents()
    {
        // Arrange
        const int EventCount = 20;
        await using var server = TestServer.Start(o => o.HeartbeatInterval = TimeSpan.FromMilliseconds(200));
        using var client = await SseStream.OpenStreamAsync(server, "/sse?topic=a", ReadTimeout);
        await server.WaitForSubscribersAsync(1, SettleTimeout);

        // Act: an event every 50 ms for about a second; the stream is never quiet for the heartbeat interval.
        var publisher = Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(50));
            for (int i = 1; i <= EventCount; i++)
            {
                server.Hub.Publish("a", new SseEvent("e" + i.ToString(CultureInfo.InvariantCulture)));
                if (i < EventCount)
                {
                    await timer.WaitForNextTickAsync();
                }
            }
        });
        string received = await client.ReadUntilAsync(SseStream.NumberedFrame(server.Hub, EventCount), TimeSpan.FromSeconds(5));
        await publisher.WaitAsync(ReadTimeout);

        // Then, quiet: heartbeats are on, so one does come once the events stop.
        string afterwards = await client.ReadUntilAsync("\n", TimeSpan.FromSeconds(2));

        // Assert
        string expected = string.Concat(Enumerable.Range(1, EventCount).Select(i => SseStream.NumberedFrame(server.Hub, i)));
        Assert.Multiple(() =>
        {
            Assert.That(Describe.Escape(received), Is.EqualTo(Describe.Escape(expected)), "the 20 events and nothing between them");
            Assert.That(Describe.Escape(afterwards), Is.EqualTo(Describe.Escape(HeartbeatFrame)), "a heartbeat once the stream goes quiet");
        });
    }

    [Test]
    [Category("Timing")]
    public async Task Heartbeat_IntervalZero_NothingSentOnIdleStream()
    {
        // Arrange
        await using var server = TestServer.Start(o => o.HeartbeatInterval = TimeSpan.Zero);
        using var client = await SseStream.OpenStreamAsync(server, "/sse?topic=a", ReadTimeout);
        await server.WaitForSubscribersAsync(1, SettleTimeout);

        // Act: this read is expected to reach its deadline.
        string? arrived = null;
        try
        {
            arrived = await client.ReadUntilAsync("\n", TimeSpan.FromSeconds(1));
        }
        catch (TimeoutException)
        {
        }

        server.Hub.Publish("a", new SseEvent("e1"));
        string live = await client.ReadUntilAsync("\n\n", ReadTimeout);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(arrived, Is.Null, $"expected nothing within 1 s, arrived: '{Describe.Escape(arrived ?? "")}'");
            Assert.That(Describe.Escape(live), Is.EqualTo(Describe.Escape(SseStream.NumberedFrame(server.Hub, 1))), "the quiet stream is still alive");
        });
    }

    [Test]
    public async Task Publish_TenStalledAndThreeReadingSubscribers_ReadersGetAllStalledCutMemoryBounded()
    {
        // Arrange
        const int EventCount = 20_000;
        const int StalledCount = 10;
        const int ReaderCount = 3;
        // The publisher stays at most this many events ahead of the slowest reader, below MaxQueuedEvents (256),
        // so a reader's queue can never overflow: only the stalled subscribers can fall behind.
        const int Window = 192;
        var clock = Stopwatch.StartNew();
        long memoryBefore = GC.GetTotalMemory(forceFullCollection: true);
        await using var server = TestServer.Start(
            o =>
            {
                o.MaxQueuedEvents = 256;
                o.HeartbeatInterval = TimeSpan.Zero;
            },
            LogLevel.Warning);
        var stalled = new List<RawClient>();
        var readers = new List<RawClient>();
        try
        {
            for (int i = 0; i < StalledCount; i++)
            {
                stalled.Add(await RawClient.ConnectStalledAsync(server.EndPoint, "/sse?topic=a", receiveBufferSize: 4096, ReadTimeout));
            }

            for (int i = 0; i < ReaderCount; i++)
            {
                readers.Add(await SseStream.OpenStreamAsync(server, "/sse?topic=a", ReadTimeout));
            }

            await server.WaitForSubscribersAsync(StalledCount + ReaderCount, SettleTimeout);
            string payload = new('x', 1000);
            var received = new int[ReaderCount];
            var readerTasks = readers.Select((r, n) => Task.Run(() => ReadNumberedAsync(r, server.Hub.Epoch, EventCount, count => Volatile.Write(ref received[n], count)))).ToList();

            // Act
            var publishDeadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
            for (int i = 1; i <= EventCount; i++)
            {
                while (i - SlowestOf(received) > Window)
                {
                    Assert.That(DateTime.UtcNow, Is.LessThan(publishDeadline), $"readers stuck at {string.Join(", ", received)} of {i - 1} published");
                    await Task.Delay(1);
                }

                server.Hub.Publish("a", new SseEvent(payload));
            }

            var outcomes = await Task.WhenAll(readerTasks).WaitAsync(TimeSpan.FromSeconds(15));
            var metrics = server.Server.Metrics;
            bool cut = await Polling.UntilAsync(
                () => server.Hub.SubscriberCount == ReaderCount
                    && metrics.Disconnects(DisconnectReason.SlowConsumer) + metrics.Disconnects(DisconnectReason.WriteTimeout) == StalledCount,
                SettleTimeout);
            long memoryAfter = GC.GetTotalMemory(forceFullCollection: true);
            TestContext.Out.WriteLine($"managed memory: {memoryBefore:N0} before, {memoryAfter:N0} after; readers: {string.Join(", ", outcomes)}");

            // Assert
            Assert.Multiple(() =>
            {
                Assert.That(outcomes, Is.All.EqualTo("ok"), "each reader gets ids 1..20000 in order");
                Assert.That(server.Hub.SubscriberCount, Is.EqualTo(ReaderCount), $"subscribers left (settled: {cut})");
                Assert.That(
                    metrics.Disconnects(DisconnectReason.SlowConsumer) + metrics.Disconnects(DisconnectReason.WriteTimeout),
                    Is.EqualTo(StalledCount),
                    $"stalled subscribers cut: slow_consumer={metrics.Disconnects(DisconnectReason.SlowConsumer)}, write_timeout={metrics.Disconnects(DisconnectReason.WriteTimeout)}");
                Assert.That(metrics.EventsPublished, Is.EqualTo(EventCount), "events published");
                Assert.That(memoryAfter - memoryBefore, Is.LessThan(64L * 1024 * 1024), $"managed memory grew from {memoryBefore:N0} to {memoryAfter:N0} bytes");
                // Cutting a stream disposes its socket; whatever that makes a pending or next read throw is a normal disconnect.
                Assert.That(server.Logs.Errors, Is.Empty, "no unexpected fault logged for the streams that were cut");
                Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(30)), "the whole run");
            });
        }
        finally
        {
            stalled.ForEach(s => s.Dispose());
            readers.ForEach(r => r.Dispose());
        }
    }

    [Test]
    public async Task Publish_DropOldestWithStalledSubscriber_StalledKeptAndGetsNewestWithGap()
    {
        // Arrange
        const int MaxQueued = 16;
        const int Window = 8; // the reader never has more than this many events outstanding: it never drops
        const int MaxEvents = 2000; // 32 MiB: far more than the kernel buffers of one stalled loopback connection
        string payload = new('y', 16 * 1024);
        await using var server = TestServer.Start(
            o =>
            {
                o.SlowConsumerPolicy = SlowConsumerPolicy.DropOldest;
                o.MaxQueuedEvents = MaxQueued;
                o.WriteTimeout = TimeSpan.FromSeconds(60);
                o.HeartbeatInterval = TimeSpan.Zero;
                o.ReplayCapacity = 16;
            },
            LogLevel.Warning);
        using var stalled = await RawClient.ConnectStalledAsync(server.EndPoint, "/sse?topic=a", receiveBufferSize: 4096, ReadTimeout);
        using var reader = await SseStream.OpenStreamAsync(server, "/sse?topic=a", ReadTimeout);
        await server.WaitForSubscribersAsync(2, SettleTimeout);
        var metrics = server.Server.Metrics;

        // Act: publish until the stalled queue has dropped, then as many again as it holds, so it holds the newest.
        int received = 0;
        var readerTask = Task.Run(() => ReadNumberedAsync(reader, server.Hub.Epoch, expectedCount: -1, count => Volatile.Write(ref received, count)));
        int published = 0;
        int extra = -1;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (published < MaxEvents && extra != 0)
        {
            while (published - Volatile.Read(ref received) >= Window)
            {
                Assert.That(DateTime.UtcNow, Is.LessThan(deadline), $"reader stuck at {received} of {published}");
                await Task.Delay(1);
            }

            server.Hub.Publish("a", new SseEvent(payload));
            published++;
            if (extra < 0 && metrics.Drops > 0)
            {
                extra = 2 * MaxQueued;
            }
            else if (extra > 0)
            {
                extra--;
            }
        }

        bool readerDone = await Polling.UntilAsync(() => Volatile.Read(ref received) == published, SettleTimeout);
        int subscribersAfterPublishing = server.Hub.SubscriberCount;
        long drops = metrics.Drops;

        // Now the stalled client reads: what its kernel buffers held, then the newest events from its queue.
        var stalledText = await stalled.ReadUntilAsync(Frame(server.Hub.Epoch, published, payload), TimeSpan.FromSeconds(15));
        var ids = IdLine().Matches(stalledText).Select(m => int.Parse(m.Groups[1].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture)).ToList();

        // Assert
        var increasing = ids.Zip(ids.Skip(1), (a, b) => b > a);
        var gaps = ids.Zip(ids.Skip(1), (a, b) => (a, b)).Where(p => p.b - p.a > 1).ToList();
        string summary = $"{ids.Count} ids, first {string.Join(",", ids.Take(3))}, last {string.Join(",", ids.TakeLast(3))}, gaps {string.Join(" ", gaps.Take(5))}";
        Assert.Multiple(() =>
        {
            Assert.That(drops, Is.GreaterThan(0), $"drops after {published} events");
            Assert.That(subscribersAfterPublishing, Is.EqualTo(2), "the stalled subscriber is thinned, not cut");
            Assert.That(readerDone, Is.True, $"the reader got {received} of {published}");
            Assert.That(readerTask.IsCompleted ? readerTask.Result : "ok", Is.EqualTo("ok"), "the reader saw ids 1, 2, 3, ... in order");
            Assert.That(increasing, Is.All.True, $"ids strictly increase: {summary}");
            Assert.That(gaps, Is.Not.Empty, $"the dropped events leave a gap: {summary}");
            Assert.That(ids.TakeLast(MaxQueued), Is.EqualTo(Enumerable.Range(published - MaxQueued + 1, MaxQueued)), $"the queue kept the newest {MaxQueued}: {summary}");
            Assert.That(ids.Count + drops, Is.EqualTo(published), $"every event was either sent to the stalled client or counted as dropped: {summary}");
        });
    }

    [Test]
    [Category("Timing")]
    public async Task Publish_StalledClientSendBlocked_CutByWriteTimeout()
    {
        // Arrange: queue limits far above what is published, so only the write timeout can cut the client.
        const int EventCount = 128; // 8 MiB: more than a stalled loopback connection's kernel buffers (4 MiB at most by default)
        await using var server = TestServer.Start(
            o =>
            {
                o.WriteTimeout = TimeSpan.FromMilliseconds(500);
                o.MaxQueuedEvents = 100_000;
                o.MaxQueuedBytes = 256L * 1024 * 1024;
                o.HeartbeatInterval = TimeSpan.Zero;
                o.ReplayCapacity = 0;
            },
            LogLevel.Warning);
        using var stalled = await RawClient.ConnectStalledAsync(server.EndPoint, "/sse?topic=a", receiveBufferSize: 4096, ReadTimeout);
        await server.WaitForSubscribersAsync(1, SettleTimeout);
        string payload = new('z', 64 * 1024);

        // Act
        for (int i = 0; i < EventCount; i++)
        {
            server.Hub.Publish("a", new SseEvent(payload));
        }

        var clock = Stopwatch.StartNew();
        var metrics = server.Server.Metrics;
        bool cut = await Polling.UntilAsync(
            () => server.Hub.SubscriberCount == 0 && metrics.Disconnects(DisconnectReason.WriteTimeout) + metrics.Disconnects(DisconnectReason.SlowConsumer) == 1,
            SettleTimeout);
        var elapsed = clock.Elapsed;

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(server.Hub.SubscriberCount, Is.Zero, "the stalled subscriber is cut");
            Assert.That(elapsed, Is.LessThan(TimeSpan.FromSeconds(5)), $"cut within a few seconds (settled: {cut})");
            Assert.That(metrics.Disconnects(DisconnectReason.WriteTimeout), Is.EqualTo(1), $"write_timeout disconnects (slow_consumer={metrics.Disconnects(DisconnectReason.SlowConsumer)}, write_failed={metrics.Disconnects(DisconnectReason.WriteFailed)})");
            Assert.That(metrics.Disconnects(DisconnectReason.SlowConsumer), Is.Zero, "slow_consumer disconnects");
        });
    }

    [Test]
    public async Task GetMetrics_AfterScriptedRun_PrometheusTextAndMeterAgree()
    {
        // Arrange
        await using var server = TestServer.Start(o => o.MetricsTopics = ["a", "b"]);
        var meterReadings = new Dictionary<Meter, long>(ReferenceEqualityComparer.Instance);
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "RawSse" && instrument.Name == "rawsse.events.published")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
        {
            lock (meterReadings)
            {
                meterReadings[instrument.Meter] = value;
            }
        });
        listener.Start();
        listener.RecordObservableInstruments();
        var before = Snapshot(meterReadings);

        using var a1 = await SseStream.OpenStreamAsync(server, "/sse?topic=a", ReadTimeout);
        using var a2 = await SseStream.OpenStreamAsync(server, "/sse?topic=a", ReadTimeout);
        using var b1 = await SseStream.OpenStreamAsync(server, "/sse?topic=b", ReadTimeout);
        await server.WaitForSubscribersAsync(3, SettleTimeout);

        // Act: 3 events to a (2 subscribers), 1 to b (1 subscriber): 7 deliveries.
        for (int i = 1; i <= 3; i++)
        {
            server.Hub.Publish("a", new SseEvent("e" + i.ToString(CultureInfo.InvariantCulture)));
        }

        server.Hub.Publish("b", new SseEvent("e4"));
        string a1Got = await a1.ReadUntilAsync(SseStream.NumberedFrame(server.Hub, 3), ReadTimeout);
        string a2Got = await a2.ReadUntilAsync(SseStream.NumberedFrame(server.Hub, 3), ReadTimeout);
        string b1Got = await b1.ReadUntilAsync(SseStream.NumberedFrame(server.Hub, 4), ReadTimeout);

        // A replay hit (event 3 replayed: the 8th delivery) on a stream that then closes cleanly.
        using (var resumed = await SseStream.OpenStreamAsync(server, "/sse?topic=a", ReadTimeout, lastEventIdHeader: $"{server.Hub.Epoch}-2"))
        {
            string replayed = await resumed.ReadUntilAsync("\n\n", ReadTimeout);
            Assert.That(Describe.Escape(replayed), Is.EqualTo(Describe.Escape(SseStream.NumberedFrame(server.Hub, 3))), "the replay after id 2");
            resumed.Socket.Shutdown(SocketShutdown.Send);
            Assert.That(await resumed.WaitForCloseAsync(ReadTimeout), Is.True, "the server ends the stream after the client's FIN");
        }

        // A replay miss, on its own topic.
        using var missed = await SseStream.OpenStreamAsync(server, "/sse?topic=c", ReadTimeout, lastEventIdHeader: "nope");
        string reset = await missed.ReadUntilAsync("\n\n", ReadTimeout);

        // A malformed head: whitespace between a field name and its colon.
        using (var bad = await server.ConnectAsync())
        {
            await bad.SendAsync("GET / HTTP/1.1\r\nHost: test\r\nBad Name : x\r\n\r\n");
            var rejected = await bad.ReadResponseAsync(expectBody: true, ReadTimeout);
            Assert.That(rejected.Status, Is.EqualTo(400), $"the malformed head is rejected: {rejected.RawHead}");
        }

        string text = "";
        HttpResponse? response = null;
        var deadline = DateTime.UtcNow + SettleTimeout;
        while (!text.Contains("rawsse_disconnects_total{reason=\"client_closed\"} 1\n", StringComparison.Ordinal)
            || !text.Contains("rawsse_topic_subscribers{topic=\"a\"} 2\n", StringComparison.Ordinal))
        {
            if (DateTime.UtcNow > deadline)
            {
                break;
            }

            (response, text) = await GetMetricsAsync(server);
        }

        listener.RecordObservableInstruments();
        var after = Snapshot(meterReadings);

        // Assert
        Assert.That(response, Is.Not.Null, "GET /metrics answered");
        var lines = text.Split('\n');
        Assert.Multiple(() =>
        {
            Assert.That(Describe.Escape(a1Got + a2Got), Is.EqualTo(Describe.Escape(string.Concat(SseStream.NumberedFrames(server.Hub, 1, 3)) + string.Concat(SseStream.NumberedFrames(server.Hub, 1, 3)))), "both a streams got 1..3");
            Assert.That(Describe.Escape(b1Got), Is.EqualTo(Describe.Escape(SseStream.NumberedFrame(server.Hub, 4))), "the b stream got 4");
            Assert.That(reset, Does.Contain("\nevent: reset\n"), "the unknown id got a reset");
            Assert.That(response!.Status, Is.EqualTo(200), $"head: {response.RawHead}");
            Assert.That(response.Headers.GetValueOrDefault("Content-Type"), Does.StartWith("text/plain"), $"head: {response.RawHead}");
            Assert.That(lines, Does.Contain("rawsse_topic_subscribers{topic=\"a\"} 2"), text);
            Assert.That(lines, Does.Contain("rawsse_topic_subscribers{topic=\"b\"} 1"), text);
            Assert.That(lines, Does.Contain("rawsse_subscribers 4"), text);
            Assert.That(text, Does.Not.Contain("topic=\"c\""), "a topic not named by --metrics-topics never appears");
            Assert.That(lines, Does.Contain("rawsse_events_published_total 4"), text);
            Assert.That(lines, Does.Contain("rawsse_deliveries_total 8"), text);
            Assert.That(lines, Does.Contain("rawsse_replay_hits_total 1"), text);
            Assert.That(lines, Does.Contain("rawsse_replay_misses_total 1"), text);
            Assert.That(lines, Does.Contain("rawsse_requests_rejected_total{status=\"400\"} 1"), text);
            Assert.That(lines, Does.Contain("rawsse_disconnects_total{reason=\"client_closed\"} 1"), text);
        });

        // Every server in this test process has its own Meter named "RawSse", and the listener sees all of them, so a
        // reading is keyed by the Meter object it came from. This server's meter is the one that read 0 before the
        // scripted run and 4 after it; a meter of another server alive at the same time would not have moved by exactly that.
        var moved = after.Where(p => p.Value == 4 && before.TryGetValue(p.Key, out long was) && was == 0).ToList();
        string readings = string.Join("; ", after.Select(p => $"{(before.TryGetValue(p.Key, out long was) ? was : -1)} -> {p.Value}"));
        Assert.That(moved, Has.Count.GreaterThanOrEqualTo(1), $"one RawSse meter's rawsse.events.published went 0 -> 4; readings (before -> after): {readings}");
    }

    private static Dictionary<Meter, long> Snapshot(Dictionary<Meter, long> readings)
    {
        lock (readings)
        {
            return new Dictionary<Meter, long>(readings, ReferenceEqualityComparer.Instance);
        }
    }

    private static async Task<(HttpResponse Response, string Text)> GetMetricsAsync(TestServer server)
    {
        using var client = await server.ConnectAsync();
        await client.SendAsync("GET /metrics HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
        var response = await client.ReadResponseAsync(expectBody: true, ReadTimeout);
        return (response, response.BodyText);
    }

    /// <summary>
    /// Reads numbered frames ("id: &lt;epoch&gt;-N") and checks they run 1, 2, 3, ... Reports progress as it goes; returns "ok", or
    /// the first frame that broke the run. With <paramref name="expectedCount"/> -1 it reads until the connection ends.
    /// </summary>
    private static async Task<string> ReadNumberedAsync(RawClient client, string epoch, int expectedCount, Action<int> progress)
    {
        int count = 0;
        while (expectedCount < 0 || count < expectedCount)
        {
            string frame;
            try
            {
                frame = await client.ReadUntilAsync("\n\n", TimeSpan.FromSeconds(10));
            }
            catch (Exception ex) when (expectedCount < 0 && ex is EndOfStreamException or IOException or TimeoutException or ObjectDisposedException)
            {
                return "ok";
            }
            catch (Exception ex) when (ex is EndOfStreamException or IOException or TimeoutException)
            {
                return $"after {count} frames: {ex.GetType().Name}: {ex.Message}";
            }

            string expectedStart = string.Create(CultureInfo.InvariantCulture, $"id: {epoch}-{count + 1}\n");
            if (!frame.StartsWith(expectedStart, StringComparison.Ordinal))
            {
                return $"expected a frame starting '{Describe.Escape(expectedStart)}', arrived '{Describe.Escape(frame[..Math.Min(frame.Length, 40)])}'";
            }

            count++;
            progress(count);
        }

        return "ok";
    }

    private static int SlowestOf(int[] received)
    {
        int slowest = int.MaxValue;
        for (int i = 0; i < received.Length; i++)
        {
            slowest = Math.Min(slowest, Volatile.Read(ref received[i]));
        }

        return slowest;
    }

    private static string Frame(string epoch, int sequence, string data) => string.Create(CultureInfo.InvariantCulture, $"id: {epoch}-{sequence}\ndata: {data}\n\n");

    [GeneratedRegex(@"^id: [0-9a-z]{8}-(\d+)$", RegexOptions.Multiline)]
    private static partial Regex IdLine();
}
