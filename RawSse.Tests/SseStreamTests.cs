using System.Diagnostics;
using System.Globalization;
using System.Net.ServerSentEvents;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using RawSse.Sse;
using RawSse.Transport;

namespace RawSse.Tests;

/// <summary>
/// The /sse stream on the wire: response head, the ticker's frames and their timing, fan-out of published
/// events, disconnect detection (read side and write side), slow consumers, graceful stop and HEAD.
/// </summary>
[TestFixture]
public sealed class SseStreamTests
{
    private const string StreamRequest = "GET /sse HTTP/1.1\r\nHost: test\r\n\r\n";
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan SettleTimeout = TimeSpan.FromSeconds(5);

    [Test]
    public async Task GetSse_DefaultOptions_StreamHeadersNoContentLengthRetryFirst()
    {
        // Arrange
        await using var server = TestServer.Start();
        using var client = await server.ConnectAsync();

        // Act
        await client.SendAsync(StreamRequest);
        var head = await client.ReadResponseAsync(expectBody: false, ReadTimeout);
        string firstFrame = await client.ReadUntilAsync("\n\n", ReadTimeout);

        // Assert
        Assert.Multiple(() =>
        {
            AssertStreamHead(head);
            Assert.That(head.Headers.ContainsKey("Transfer-Encoding"), Is.False, $"head: {head.RawHead}");
            Assert.That(Describe.Escape(firstFrame), Does.Match(@"^retry: \d+\\n\\n$"), "the body starts with a retry line and a blank line");
            Assert.That(Describe.Escape(firstFrame), Is.EqualTo(Describe.Escape("retry: 2000\n\n")), "the default retry is 2 s");
        });
    }

    [Test]
    public async Task GetSse_AllowOriginConfigured_ThatOriginSent()
    {
        // Arrange
        await using var server = TestServer.Start(o => o.AllowOrigin = "https://example.com");
        using var client = await server.ConnectAsync();

        // Act
        await client.SendAsync(StreamRequest);
        var head = await client.ReadResponseAsync(expectBody: false, ReadTimeout);

        // Assert
        Assert.That(Header(head, "Access-Control-Allow-Origin"), Is.EqualTo("https://example.com"), $"head: {head.RawHead}");
    }

    [Test]
    public async Task GetSse_AllowOriginEmpty_NoAllowOriginHeader()
    {
        // Arrange
        await using var server = TestServer.Start(o => o.AllowOrigin = "");
        using var client = await server.ConnectAsync();

        // Act
        await client.SendAsync(StreamRequest);
        var head = await client.ReadResponseAsync(expectBody: false, ReadTimeout);

        // Assert
        Assert.That(head.Headers.ContainsKey("Access-Control-Allow-Origin"), Is.False, $"head: {head.RawHead}");
    }

    [Test]
    [Category("Timing")]
    public async Task GetSse_TickerEvery500ms_TicksWithIncreasingIdsAbout500msApart()
    {
        // Arrange
        const int TickCount = 4;
        await using var server = TestServer.Start(o => o.TickInterval = TimeSpan.FromMilliseconds(500));
        using var client = (await SseStream.OpenAsync(server, "/sse", ReadTimeout)).Client;

        // Act: note each frame's arrival time as it arrives.
        var clock = Stopwatch.StartNew();
        var arrivals = new List<(string Text, TimeSpan At)>();
        for (int i = 0; i < TickCount; i++)
        {
            string text = await client.ReadUntilAsync("\n\n", TimeSpan.FromSeconds(3));
            arrivals.Add((text, clock.Elapsed));
        }

        // Assert
        var frames = arrivals.Select(a => ParseFrameByHand(a.Text)).ToList();
        long previousId = long.MinValue;
        DateTime previousTime = DateTime.MinValue;
        for (int i = 0; i < TickCount; i++)
        {
            var frame = frames[i];
            string raw = Describe.Escape(arrivals[i].Text);
            Assert.That(frame.Type, Is.EqualTo("tick"), $"frame {i}: '{raw}'");
            long id = SseStream.SequenceOf(server.Hub, frame.Id);
            Assert.That(id, Is.GreaterThan(0), $"frame {i} id is the hub's <epoch>-<sequence>: '{raw}'");
            Assert.That(id, Is.GreaterThan(previousId), $"frame {i} id increases: '{raw}'");

            using var json = JsonDocument.Parse(frame.Data);
            Assert.That(json.RootElement.GetProperty("id").GetInt64(), Is.EqualTo(id), $"frame {i} JSON id equals the frame id: '{raw}'");
            string time = json.RootElement.GetProperty("time").GetString() ?? "";
            Assert.That(DateTime.TryParse(time, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var parsed), Is.True, $"frame {i} time parses: '{raw}'");
            Assert.That(parsed.Kind, Is.EqualTo(DateTimeKind.Utc), $"frame {i} time is UTC: '{raw}'");
            Assert.That(parsed, Is.EqualTo(DateTime.UtcNow).Within(TimeSpan.FromMinutes(1)), $"frame {i} time is now: '{raw}'");
            Assert.That(parsed, Is.GreaterThanOrEqualTo(previousTime), $"frame {i} time does not go back: '{raw}'");
            previousId = id;
            previousTime = parsed;
        }

        for (int i = 1; i < TickCount; i++)
        {
            double gapMs = (arrivals[i].At - arrivals[i - 1].At).TotalMilliseconds;
            Assert.That(gapMs, Is.InRange(250, 1000), $"gap between ticks {i - 1} and {i} (expected about 500 ms); arrivals: {string.Join(", ", arrivals.Select(a => $"{a.At.TotalMilliseconds:F0} ms"))}");
        }
    }

    [Test]
    public async Task GetSse_TickerRunning_SseParserAgreesWithHandParse()
    {
        // Arrange
        const int TickCount = 3;
        await using var server = TestServer.Start(o => o.TickInterval = TimeSpan.FromMilliseconds(100));
        var opened = await SseStream.OpenAsync(server, "/sse", ReadTimeout);
        using var client = opened.Client;
        var tickFrames = await SseStream.ReadFramesAsync(client, TickCount, ReadTimeout);

        string body = opened.FirstFrame + string.Concat(tickFrames);

        // Act
        var parser = SseParser.Create(new MemoryStream(Encoding.UTF8.GetBytes(body)));
        var parsed = new List<SseItem<string>>();
        using var cts = new CancellationTokenSource(ReadTimeout);
        await foreach (var item in parser.EnumerateAsync(cts.Token))
        {
            parsed.Add(item);
        }

        var byHand = tickFrames.Select(ParseFrameByHand).ToList();

        // Assert
        Assert.That(parsed, Has.Count.EqualTo(TickCount), $"events in '{Describe.Escape(body)}' (the retry-only block is no event)");
        Assert.That(parser.ReconnectionInterval, Is.EqualTo(TimeSpan.FromSeconds(2)), "retry: 2000 read by the parser");
        for (int i = 0; i < TickCount; i++)
        {
            Assert.That(parsed[i].EventId, Is.EqualTo(byHand[i].Id), $"id of event {i}");
            Assert.That(parsed[i].EventType, Is.EqualTo(byHand[i].Type), $"type of event {i}");
            Assert.That(parsed[i].Data, Is.EqualTo(byHand[i].Data), $"data of event {i}");
        }
    }

    [Test]
    public async Task Publish_FiveOpenStreams_EveryStreamGetsIdenticalBytes()
    {
        // Arrange
        const int StreamCount = 5;
        await using var server = TestServer.Start();
        var clients = new List<RawClient>();
        try
        {
            for (int i = 0; i < StreamCount; i++)
            {
                clients.Add((await SseStream.OpenAsync(server, "/sse", ReadTimeout)).Client);
            }

            await server.WaitForSubscribersAsync(StreamCount, SettleTimeout);
            var ev = new SseEvent("line one\nline two\r\nünïcödé 😀\rlast", type: "note", id: "42");
            string expected = Encoding.UTF8.GetString(SseFrames.Encode(ev, "42"));

            // Act
            string id = server.Hub.Publish(Hub.DefaultTopic, ev);
            var frames = new List<string>();
            foreach (var client in clients)
            {
                frames.Add(await client.ReadUntilAsync("\n\n", ReadTimeout));
            }

            // Assert
            Assert.That(id, Is.EqualTo("42"));
            for (int i = 0; i < StreamCount; i++)
            {
                Assert.That(Describe.Escape(frames[i]), Is.EqualTo(Describe.Escape(expected)), $"frame on stream {i}");
            }
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
        }
    }

    [Test]
    public async Task GetSse_200SubscribersCloseOrResetWithoutWrites_CountsReturnToZeroAndServerStillServes()
    {
        // Arrange: ticker off and nothing published, so only the read side can notice the closes.
        const int StreamCount = 200;
        await using var server = TestServer.Start(minimumLevel: LogLevel.Warning);
        var clients = new List<RawClient>(StreamCount);
        try
        {
            for (int i = 0; i < StreamCount; i++)
            {
                // Reading the head and retry frame first leaves the client's receive buffer empty,
                // so Dispose sends a FIN (closing with unread data would send an RST instead).
                clients.Add((await SseStream.OpenAsync(server, "/sse", ReadTimeout)).Client);
            }

            await server.WaitForSubscribersAsync(StreamCount, TimeSpan.FromSeconds(10));

            // Act
            for (int i = 0; i < StreamCount; i++)
            {
                if (i % 2 == 0)
                {
                    clients[i].Dispose();
                }
                else
                {
                    clients[i].Reset();
                }
            }

            bool drained = await Polling.UntilAsync(() => server.Hub.SubscriberCount == 0 && server.Server.ConnectionCount == 0, SettleTimeout);

            // Assert
            Assert.That(drained, Is.True,
                $"expected 0 subscribers and 0 connections within {SettleTimeout.TotalSeconds} s; still {server.Hub.SubscriberCount} subscribers, {server.Server.ConnectionCount} connections");

            using (var page = await server.ConnectAsync())
            {
                await page.SendAsync("GET / HTTP/1.1\r\nHost: test\r\n\r\n");
                var response = await page.ReadResponseAsync(timeout: ReadTimeout);
                Assert.That(response.Status, Is.EqualTo(200), $"GET / after the storm: {response.RawHead}");
            }

            using (var fresh = (await SseStream.OpenAsync(server, "/sse", ReadTimeout)).Client)
            {
                await server.WaitForSubscribersAsync(1, SettleTimeout);
                var ev = new SseEvent("still alive", type: "check", id: "1");
                server.Hub.Publish(Hub.DefaultTopic, ev);
                string frame = await fresh.ReadUntilAsync("\n\n", ReadTimeout);
                Assert.That(Describe.Escape(frame), Is.EqualTo(Describe.Escape(Encoding.UTF8.GetString(SseFrames.Encode(ev, "1")))), "event on a new stream");
            }

            Assert.That(server.Logs.Errors, Is.Empty, "no unexpected faults logged");
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
        }
    }

    [Test]
    public async Task GetSse_ClientResetsWhileTicking_SubscriberRemoved()
    {
        // Arrange
        await using var server = TestServer.Start(o => o.TickInterval = TimeSpan.FromMilliseconds(100));
        using var client = (await SseStream.OpenAsync(server, "/sse", ReadTimeout)).Client;
        string tick = await client.ReadUntilAsync("\n\n", ReadTimeout);
        Assert.That(ParseFrameByHand(tick).Type, Is.EqualTo("tick"), $"a tick before the reset: '{Describe.Escape(tick)}'");

        // Act
        client.Reset();
        bool removed = await Polling.UntilAsync(() => server.Hub.SubscriberCount == 0 && server.Server.ConnectionCount == 0, SettleTimeout);

        // Assert
        Assert.That(removed, Is.True,
            $"expected 0 subscribers and 0 connections within {SettleTimeout.TotalSeconds} s; still {server.Hub.SubscriberCount} subscribers, {server.Server.ConnectionCount} connections");
        using (var next = (await SseStream.OpenAsync(server, "/sse", ReadTimeout)).Client)
        {
            string nextTick = await next.ReadUntilAsync("\n\n", ReadTimeout);
            Assert.That(ParseFrameByHand(nextTick).Type, Is.EqualTo("tick"), $"the ticker still runs: '{Describe.Escape(nextTick)}'");
        }

        Assert.That(server.Logs.Errors, Is.Empty, "no unexpected faults logged");
    }

    [Test]
    [Category("Timing")]
    public async Task Publish_ClientNeverReads_CutByWriteTimeoutWhileReaderGetsEveryEventInOrder()
    {
        // Arrange: queues big enough that only the write timeout can cut the slow subscriber.
        const int MaxEvents = 300;
        const int PayloadBytes = 64 * 1024;
        await using var server = TestServer.Start(o =>
        {
            o.WriteTimeout = TimeSpan.FromSeconds(1);
            o.MaxQueuedBytes = 1L << 30;
            o.MaxQueuedEvents = 100_000;
        });

        // A tiny receive window, set before connecting so it is what the handshake advertises.
        using var slow = await RawClient.ConnectStalledAsync(server.EndPoint, "/sse", receiveBufferSize: 1024, ReadTimeout);
        string slowHead = await slow.ReadUntilAsync("\r\n\r\n", ReadTimeout);
        Assert.That(slowHead, Does.StartWith("HTTP/1.1 200 "), $"slow client's head: '{Describe.Escape(slowHead)}'");

        using var reader = (await SseStream.OpenAsync(server, "/sse", ReadTimeout)).Client;
        await server.WaitForSubscribersAsync(2, SettleTimeout);

        // Act: publish at a steady pace (the write timeout needs time to pass); the reader takes each event as it comes.
        using var pace = new PeriodicTimer(TimeSpan.FromMilliseconds(20));
        var clock = Stopwatch.StartNew();
        int published = 0;
        TimeSpan? cutAt = null;
        while (published < MaxEvents)
        {
            string id = published.ToString(CultureInfo.InvariantCulture);
            var ev = new SseEvent(id + ":" + new string('x', PayloadBytes), type: "big", id: id);
            server.Hub.Publish(Hub.DefaultTopic, ev);
            published++;
            AssertBigFrame(await reader.ReadUntilAsync("\n\n", ReadTimeout), id, ev);

            if (server.Hub.SubscriberCount == 1)
            {
                cutAt = clock.Elapsed;
                break;
            }

            await pace.WaitForNextTickAsync();
        }

        // Assert
        TestContext.Out.WriteLine($"published {published} events; slow subscriber cut after {cutAt?.TotalMilliseconds:F0} ms");
        Assert.That(cutAt, Is.Not.Null,
            $"the non-reading subscriber was still there after {published} events of {PayloadBytes} bytes ({clock.Elapsed.TotalSeconds:F1} s); subscribers: {server.Hub.SubscriberCount}");
        bool connectionGone = await Polling.UntilAsync(() => server.Server.ConnectionCount == 1, SettleTimeout);
        Assert.That(connectionGone, Is.True, $"expected only the reader's connection left; connections: {server.Server.ConnectionCount}");
        Assert.That(server.Server.Metrics.Disconnects(DisconnectReason.WriteTimeout), Is.EqualTo(1), "cut by the write timeout, not by a full queue");

        var after = new SseEvent("after the cut", type: "big", id: "after");
        server.Hub.Publish(Hub.DefaultTopic, after);
        AssertBigFrame(await reader.ReadUntilAsync("\n\n", ReadTimeout), "after", after);
        Assert.That(server.Hub.SubscriberCount, Is.EqualTo(1), "the reading subscriber stays");
        Assert.That(server.Logs.Errors, Is.Empty, "no unexpected faults logged");
    }

    [Test]
    public async Task StopAsync_TwoOpenStreams_BothReadCleanEndOfStream()
    {
        // Arrange: a long shutdown timeout, so ending before it proves the graceful stage did it, not the abort.
        var shutdownTimeout = TimeSpan.FromSeconds(5);
        await using var server = TestServer.Start(o => o.ShutdownTimeout = shutdownTimeout);
        using var a = (await SseStream.OpenAsync(server, "/sse", ReadTimeout)).Client;
        using var b = (await SseStream.OpenAsync(server, "/sse", ReadTimeout)).Client;
        await server.WaitForSubscribersAsync(2, SettleTimeout);
        var deadline = shutdownTimeout + TimeSpan.FromSeconds(2);

        // Act
        var clock = Stopwatch.StartNew();
        var stop = server.Server.StopAsync();
        var restA = a.ReadToCleanEndAsync(deadline);
        var restB = b.ReadToCleanEndAsync(deadline);
        await stop.WaitAsync(deadline);
        var stoppedAfter = clock.Elapsed;
        byte[] tailA = await restA;
        byte[] tailB = await restB;

        // Assert
        Assert.That(stoppedAfter, Is.LessThan(shutdownTimeout), "StopAsync ended the streams before the shutdown timeout (no abort stage)");
        Assert.That(Encoding.UTF8.GetString(tailA), Is.Empty, "bytes before the end of stream A");
        Assert.That(Encoding.UTF8.GetString(tailB), Is.Empty, "bytes before the end of stream B");
        Assert.That(server.Hub.SubscriberCount, Is.Zero);
        Assert.That(server.Server.ConnectionCount, Is.Zero);
    }

    [Test]
    public async Task StopAsync_EventJustPublished_DeliveredBeforeCleanEndOfStream()
    {
        // Arrange
        var shutdownTimeout = TimeSpan.FromSeconds(5);
        await using var server = TestServer.Start(o => o.ShutdownTimeout = shutdownTimeout);
        using var client = (await SseStream.OpenAsync(server, "/sse", ReadTimeout)).Client;
        await server.WaitForSubscribersAsync(1, SettleTimeout);
        var ev = new SseEvent("last words", type: "bye", id: "9");

        // Act
        server.Hub.Publish(Hub.DefaultTopic, ev);
        var stop = server.Server.StopAsync();
        byte[] tail = await client.ReadToCleanEndAsync(shutdownTimeout + TimeSpan.FromSeconds(2));
        await stop.WaitAsync(shutdownTimeout + TimeSpan.FromSeconds(2));

        // Assert
        Assert.That(Describe.Escape(Encoding.UTF8.GetString(tail)), Is.EqualTo(Describe.Escape(Encoding.UTF8.GetString(SseFrames.Encode(ev, "9")))),
            "what was queued is sent before the end of stream");
    }

    [Test]
    public async Task HeadSse_KeepAlive_StreamHeadersNoBodyAndConnectionReusable()
    {
        // Arrange
        await using var server = TestServer.Start();
        using var client = await server.ConnectAsync();

        // Act
        await client.SendAsync("HEAD /sse HTTP/1.1\r\nHost: test\r\n\r\n");
        var head = await client.ReadResponseAsync(expectBody: false, ReadTimeout);
        await client.SendAsync("GET / HTTP/1.1\r\nHost: test\r\n\r\n");
        string nextHead = await client.ReadUntilAsync("\r\n\r\n", ReadTimeout);

        // Assert
        Assert.Multiple(() =>
        {
            AssertStreamHead(head);
            Assert.That(server.Hub.SubscriberCount, Is.Zero, "HEAD does not subscribe");
            // Had the HEAD response carried a body (the retry frame), it would come before this status line.
            Assert.That(Describe.Escape(nextHead), Does.StartWith("HTTP/1.1 200 "), "the next response on the same connection");
        });
        string page = await client.ReadUntilAsync("hello</p>\n", ReadTimeout);
        Assert.That(page, Does.Contain("<title>test</title>"));
    }

    private static string? Header(HttpResponse response, string name) => response.Headers.TryGetValue(name, out var value) ? value : null;

    private static void AssertBigFrame(string frame, string id, SseEvent ev)
    {
        string expected = Encoding.UTF8.GetString(SseFrames.Encode(ev, id));
        if (frame != expected)
        {
            Assert.Fail($"expected frame {id} ({expected.Length} chars) starting '{Describe.Escape(expected[..Math.Min(40, expected.Length)])}', "
                + $"arrived {frame.Length} chars starting '{Describe.Escape(frame[..Math.Min(40, frame.Length)])}'");
        }
    }

    /// <summary>A frame split by hand: "field: value" lines, one leading space dropped, data lines joined with LF.</summary>
    private static HandFrame ParseFrameByHand(string frame)
    {
        Assert.That(frame, Does.EndWith("\n\n"), $"a frame ends with a blank line: '{Describe.Escape(frame)}'");
        string? id = null;
        string? type = null;
        int? retry = null;
        var data = new List<string>();
        foreach (var line in frame[..^2].Split('\n'))
        {
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            Assert.That(colon, Is.GreaterThan(0), $"a field line in '{Describe.Escape(frame)}'");
            string name = line[..colon];
            string value = line[(colon + 1)..];
            if (value.StartsWith(' '))
            {
                value = value[1..];
            }

            switch (name)
            {
                case "id": id = value; break;
                case "event": type = value; break;
                case "data": data.Add(value); break;
                case "retry": retry = int.Parse(value, CultureInfo.InvariantCulture); break;
                default: Assert.Fail($"unexpected field '{name}' in '{Describe.Escape(frame)}'"); break;
            }
        }

        return new HandFrame(id, type ?? "message", string.Join('\n', data), retry);
    }

    private sealed record HandFrame(string? Id, string Type, string Data, int? Retry);

    // The head every stream answers with. RFC 9112 §6.3 item 8: the body runs to the close, so no length.
    private static void AssertStreamHead(HttpResponse head)
    {
        Assert.That(head.Status, Is.EqualTo(200), $"head: {head.RawHead}");
        Assert.That(Header(head, "Content-Type"), Is.EqualTo("text/event-stream"), $"head: {head.RawHead}");
        Assert.That(Header(head, "Cache-Control"), Is.EqualTo("no-cache"), $"head: {head.RawHead}");
        Assert.That(Header(head, "X-Accel-Buffering"), Is.EqualTo("no"), $"head: {head.RawHead}");
        Assert.That(Header(head, "Access-Control-Allow-Origin"), Is.EqualTo("*"), $"head: {head.RawHead}");
        Assert.That(head.Headers.ContainsKey("Content-Length"), Is.False, $"head: {head.RawHead}");
    }
}
