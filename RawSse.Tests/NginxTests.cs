using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using RawSse.Sse;

namespace RawSse.Tests;

/// <summary>
/// RawSse behind Debian's real nginx, run with the repository's own <c>deploy/nginx.conf</c> (ports rewritten):
/// events pass through unbuffered, heartbeats beat <c>proxy_read_timeout</c>, static files and publishes work.
/// </summary>
[TestFixture]
[Category("Proxy")]
public sealed class NginxTests
{
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan SettleTimeout = TimeSpan.FromSeconds(5);

    [Test]
    [CancelAfter(30_000)]
    [Category("Timing")]
    public async Task Stream_ThroughNginx_EachTickArrivesWithinOneSecondAndNotInBatches()
    {
        // Arrange
        const int Ticks = 6;
        await using var server = TestServer.Start(o => o.TickInterval = TimeSpan.FromMilliseconds(300));
        await using var nginx = await Nginx.StartAsync(server.Port);
        using var stream = await WireStream.OpenAsync(nginx.Port, "/sse");

        // Act
        var ticks = new List<WireItem>();
        var deadline = Stopwatch.StartNew();
        while (ticks.Count < Ticks && deadline.Elapsed < TimeSpan.FromSeconds(10))
        {
            var item = await stream.ReadItemAsync(ReadTimeout);
            if (item is null || item.Kind == WireKind.End)
            {
                break;
            }

            if (item.Kind == WireKind.Event && item.Type == "tick")
            {
                ticks.Add(item);
            }
        }

        // Assert
        var delays = ticks.Select(t => t.ArrivedUtc - SentTime(t)).ToList();
        var gaps = ticks.Zip(ticks.Skip(1), (a, b) => Stopwatch.GetElapsedTime(a.ArrivedTimestamp, b.ArrivedTimestamp)).ToList();
        string report = string.Join("; ", ticks.Select((t, i) =>
            $"id {t.Id} sent {SentTime(t):HH:mm:ss.fff} delay {delays[i].TotalMilliseconds:F0} ms" + (i > 0 ? $" gap {gaps[i - 1].TotalMilliseconds:F0} ms" : "")));
        TestContext.Out.WriteLine(report);
        Assert.Multiple(() =>
        {
            Assert.That(stream.Head.Status, Is.EqualTo(200), $"status through nginx; head: {stream.Head}");
            Assert.That(ticks, Has.Count.EqualTo(Ticks), $"ticks read through nginx; received: {stream.Transcript}");
            Assert.That(delays, Is.All.LessThan(TimeSpan.FromSeconds(1)), $"each tick's arrival minus its JSON time (sent); {report}");
            Assert.That(delays, Is.All.GreaterThan(TimeSpan.FromMilliseconds(-50)), $"no tick arrives before it was sent (same clock); {report}");
            Assert.That(gaps, Is.All.GreaterThan(TimeSpan.FromMilliseconds(100)), $"ticks 300 ms apart arrive spread out, not in batches; {report}");
        });
    }

    [Test]
    [CancelAfter(30_000)]
    [Category("Timing")]
    public async Task Stream_IdleBehindShortProxyReadTimeoutWithHeartbeats_StaysOpenThenDeliversEvent()
    {
        // Arrange: nginx gives up on a silent upstream after 1 s; RawSse sends a heartbeat every 300 ms.
        await using var server = TestServer.Start(o =>
        {
            o.TickInterval = TimeSpan.Zero;
            o.HeartbeatInterval = TimeSpan.FromMilliseconds(300);
        });
        await using var nginx = await Nginx.StartAsync(server.Port, proxyReadTimeout: "1s");
        using var stream = await WireStream.OpenAsync(nginx.Port, "/sse?topic=quiet");
        bool subscribed = await Polling.UntilAsync(() => server.Hub.CountSubscribers("quiet") == 1, SettleTimeout);

        // Act: hold the idle stream for 3 s (three proxy read timeouts), then publish.
        var held = new List<WireItem>();
        var hold = Stopwatch.StartNew();
        long openedAt = Stopwatch.GetTimestamp();
        while (hold.Elapsed < TimeSpan.FromSeconds(3))
        {
            var item = await stream.ReadItemAsync(TimeSpan.FromSeconds(3) - hold.Elapsed);
            if (item is null)
            {
                break; // the hold is over with nothing more
            }

            held.Add(item);
            if (item.Kind == WireKind.End)
            {
                break;
            }
        }

        string id = server.Hub.Publish("quiet", new SseEvent("after the quiet"));
        WireItem? published = null;
        var wait = Stopwatch.StartNew();
        while (published is null && wait.Elapsed < ReadTimeout)
        {
            var item = await stream.ReadItemAsync(ReadTimeout - wait.Elapsed);
            if (item is null || item.Kind is WireKind.Event or WireKind.End)
            {
                published = item;
                break;
            }
        }

        // Assert
        var heartbeats = held.Where(i => i.Kind == WireKind.Comment).ToList();
        var stamps = new[] { openedAt }.Concat(heartbeats.Select(h => h.ArrivedTimestamp)).ToList();
        var longestSilence = stamps.Zip(stamps.Skip(1), (a, b) => Stopwatch.GetElapsedTime(a, b)).DefaultIfEmpty(TimeSpan.MaxValue).Max();
        Assert.Multiple(() =>
        {
            Assert.That(subscribed, Is.True, "the stream subscribed to 'quiet' through nginx");
            Assert.That(held.Where(i => i.Kind == WireKind.End), Is.Empty, $"no end of stream while idle behind a 1 s proxy_read_timeout; received: {stream.Transcript}; nginx log: {nginx.ErrorLog()}");
            Assert.That(hold.Elapsed, Is.GreaterThanOrEqualTo(TimeSpan.FromSeconds(3)), "the stream was held for the full 3 s");
            Assert.That(heartbeats, Has.Count.GreaterThanOrEqualTo(5), $"heartbeat comments in 3 s at a 300 ms interval; received: {stream.Transcript}");
            Assert.That(longestSilence, Is.LessThan(TimeSpan.FromSeconds(1)), "the longest silence on the stream, which must stay under nginx's 1 s read timeout");
            Assert.That(published?.Kind, Is.EqualTo(WireKind.Event), $"the event published after the hold; received: {stream.Transcript}");
            Assert.That(published?.Data, Is.EqualTo("after the quiet"), "its data");
            Assert.That(published?.Id, Is.EqualTo(id), "its id");
        });
    }

    [Test]
    [CancelAfter(30_000)]
    [Category("Timing")]
    public async Task Stream_IdleBehindShortProxyReadTimeoutWithoutHeartbeats_ClosedByNginx()
    {
        // Arrange: the control for the test above: no heartbeats, so the 1 s timeout must end the stream.
        await using var server = TestServer.Start(o =>
        {
            o.TickInterval = TimeSpan.Zero;
            o.HeartbeatInterval = TimeSpan.Zero;
        });
        await using var nginx = await Nginx.StartAsync(server.Port, proxyReadTimeout: "1s");
        using var stream = await WireStream.OpenAsync(nginx.Port, "/sse?topic=quiet");
        var opened = Stopwatch.StartNew();

        // Act
        var received = new List<WireItem>();
        WireItem? last = null;
        while (opened.Elapsed < TimeSpan.FromSeconds(5))
        {
            last = await stream.ReadItemAsync(TimeSpan.FromSeconds(5) - opened.Elapsed);
            if (last is null || last.Kind == WireKind.End)
            {
                break;
            }

            received.Add(last);
        }

        var closedAfter = opened.Elapsed;

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(stream.Head.Status, Is.EqualTo(200), $"the stream opened; head: {stream.Head}");
            Assert.That(last?.Kind, Is.EqualTo(WireKind.End), $"nginx closes a stream silent past proxy_read_timeout; received: {stream.Transcript}");
            Assert.That(closedAfter, Is.InRange(TimeSpan.FromSeconds(0.8), TimeSpan.FromSeconds(3.5)), "time from open to close: about the 1 s timeout, not at once");
            Assert.That(received.Where(i => i.Kind != WireKind.End), Is.Empty, $"nothing but the close arrives; received: {stream.Transcript}");
            Assert.That(nginx.ErrorLog(), Does.Contain("upstream timed out"), "nginx logs why it closed the stream");
        });
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task StaticFiles_ThroughNginx_IndexAndScriptServedWithTypes()
    {
        // Arrange
        await using var server = TestServer.Start(o => o.Root = RepoPaths.Public);
        await using var nginx = await Nginx.StartAsync(server.Port);
        using var http = Loopback.NewHttpClient(nginx.Port, ReadTimeout);
        string expectedIndex = await File.ReadAllTextAsync(Path.Combine(RepoPaths.Public, "index.html"));

        // Act
        using var index = await http.GetAsync("/");
        string indexBody = await index.Content.ReadAsStringAsync();
        using var script = await http.GetAsync("/app.js");
        string scriptBody = await script.Content.ReadAsStringAsync();

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(index.StatusCode, Is.EqualTo(HttpStatusCode.OK), "GET / through nginx");
            Assert.That(indexBody, Is.EqualTo(expectedIndex), "GET / body: public/index.html");
            Assert.That(index.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/html"), "GET / Content-Type");
            Assert.That(script.StatusCode, Is.EqualTo(HttpStatusCode.OK), "GET /app.js through nginx");
            Assert.That(script.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/javascript"), $"GET /app.js Content-Type: {script.Content.Headers.ContentType}");
            Assert.That(scriptBody, Does.Contain("new EventSource("), "GET /app.js body");
        });
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Publish_PostThroughNginxFromLoopback_AllowedAndDelivered()
    {
        // Arrange
        await using var server = TestServer.Start();
        await using var nginx = await Nginx.StartAsync(server.Port);
        using var stream = await WireStream.OpenAsync(nginx.Port, "/sse?topic=proxied");
        bool subscribed = await Polling.UntilAsync(() => server.Hub.CountSubscribers("proxied") == 1, SettleTimeout);
        using var http = Loopback.NewHttpClient(nginx.Port, ReadTimeout);

        // Act
        using var response = await http.PostAsync("/publish", new FormUrlEncodedContent([new("topic", "proxied"), new("data", "through nginx")]));
        string id = (await response.Content.ReadAsStringAsync()).Trim();
        WireItem? delivered = null;
        var wait = Stopwatch.StartNew();
        while (delivered is null && wait.Elapsed < ReadTimeout)
        {
            var item = await stream.ReadItemAsync(ReadTimeout - wait.Elapsed);
            if (item is null || item.Kind is WireKind.Event or WireKind.End)
            {
                delivered = item;
                break;
            }
        }

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(subscribed, Is.True, "the stream subscribed through nginx");
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), $"POST /publish through nginx from 127.0.0.1 answered '{id}'");
            Assert.That(delivered?.Kind, Is.EqualTo(WireKind.Event), $"the published event on the proxied stream; received: {stream.Transcript}");
            Assert.That(delivered?.Data, Is.EqualTo("through nginx"), "its data");
            Assert.That(delivered?.Id, Is.EqualTo(id), "its id is the one /publish returned");
        });
    }

    private static DateTime SentTime(WireItem tick)
    {
        using var json = JsonDocument.Parse(tick.Data);
        return DateTime.Parse(json.RootElement.GetProperty("time").GetString()!, CultureInfo.InvariantCulture,
            DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);
    }
}
