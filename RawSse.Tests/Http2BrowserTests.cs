using RawSse.Sse;

namespace RawSse.Tests;

/// <summary>
/// Ten EventSources on one page. Over HTTP/1.1 Chromium opens at most six connections to an origin and each stream
/// holds one, so the rest wait; through deploy/nginx.conf's HTTP/2 listener the ten share one connection.
/// </summary>
[TestFixture]
[Category("Browser")]
[Category("Proxy")]
public sealed class Http2BrowserTests
{
    private const int Streams = 10;
    // Chromium's connections per origin (a "group") over HTTP/1.1; not configurable from a page.
    private const int Http1ConnectionsPerOrigin = 6;
    private const string Topic = "ten";
    private const string PagePath = "/ten.html";
    private static readonly TimeSpan SettleTimeout = TimeSpan.FromSeconds(8);

    // Each stream keeps its readyState (0 connecting, 1 open) and the data of every message it received.
    private static readonly string s_page = $$"""
        <!DOCTYPE html><title>ten streams</title>
        <script>
        window.streams = [];
        for (var i = 0; i < {{Streams}}; i++) {
          (function () {
            var entry = { source: new EventSource('/sse?topic={{Topic}}'), data: [] };
            entry.source.onmessage = function (e) { entry.data.push(e.data); };
            window.streams.push(entry);
          })();
        }
        </script>
        """;

    private const string ReadScript = """
        var navigation = performance.getEntriesByType('navigation')[0];
        return JSON.stringify({
          protocol: navigation ? navigation.nextHopProtocol : null,
          streams: (window.streams || []).map(function (s) { return { readyState: s.source.readyState, data: s.data }; })
        });
        """;

    [Test]
    [CancelAfter(45_000)]
    public async Task TenEventSources_ThroughNginxHttp2_AllOpenAndReceiveEvent()
    {
        // Arrange
        await using var server = StartServerWithPage();
        await using var nginx = await Nginx.StartAsync(server.Port);
        await using var browser = Browser.Start(acceptAnyCertificate: true);

        // Act
        browser.Open($"https://127.0.0.1:{nginx.TlsPort}{PagePath}");
        bool subscribed = await Polling.UntilAsync(() => server.Hub.CountSubscribers(Topic) == Streams, SettleTimeout);
        server.Hub.Publish(Topic, new SseEvent("to all ten"));
        var page = await WaitForPageAsync(browser, p => p.Streams.Count(s => s.Data.Count > 0) == Streams);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(page.Protocol, Is.EqualTo("h2"), $"the page's nextHopProtocol through nginx's TLS listener; page: {page}");
            Assert.That(subscribed, Is.True, $"{Streams} streams subscribed at once; there are {server.Hub.CountSubscribers(Topic)}; nginx log: {nginx.ErrorLog()}");
            Assert.That(page.Streams, Has.Count.EqualTo(Streams), $"EventSources on the page; page: {page}");
            Assert.That(page.Streams.Select(s => s.ReadyState), Is.All.EqualTo(1), $"every EventSource is OPEN; page: {page}");
            Assert.That(page.Streams.Select(s => string.Join(",", s.Data)), Is.All.EqualTo("to all ten"), $"every EventSource received the one event; page: {page}");
        });
    }

    [Test]
    [CancelAfter(45_000)]
    public async Task TenEventSources_DirectOverHttp1_OnlySixOpenAndTheRestWait()
    {
        // Arrange: the control for the test above: the same page straight from RawSse, over HTTP/1.1.
        await using var server = StartServerWithPage();
        await using var browser = Browser.Start();

        // Act
        browser.Open($"http://127.0.0.1:{server.Port}{PagePath}");
        bool subscribed = await Polling.UntilAsync(() => server.Hub.CountSubscribers(Topic) == Http1ConnectionsPerOrigin, SettleTimeout);
        server.Hub.Publish(Topic, new SseEvent("to the six"));
        // A seventh connection could only open before this point; after the six have the event, look at all ten.
        var page = await WaitForPageAsync(browser, p => p.Streams.Count(s => s.Data.Count > 0) == Http1ConnectionsPerOrigin);
        int subscribers = server.Hub.CountSubscribers(Topic);

        // Assert
        var waiting = page.Streams.Where(s => s.ReadyState == 0 && s.Data.Count == 0).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(page.Protocol, Is.EqualTo("http/1.1"), $"the page's nextHopProtocol straight from RawSse; page: {page}");
            Assert.That(subscribed, Is.True, $"{Http1ConnectionsPerOrigin} streams subscribed; there are {server.Hub.CountSubscribers(Topic)}");
            Assert.That(subscribers, Is.EqualTo(Http1ConnectionsPerOrigin), "streams the server holds once six have the event: no seventh connection");
            Assert.That(page.Streams.Count(s => s.Data.SequenceEqual(["to the six"])), Is.EqualTo(Http1ConnectionsPerOrigin), $"EventSources that received the event; page: {page}");
            Assert.That(waiting, Has.Count.EqualTo(Streams - Http1ConnectionsPerOrigin), $"EventSources still CONNECTING with nothing received; page: {page}");
        });
    }

    private static TestServer StartServerWithPage()
    {
        var server = TestServer.Start(o => o.HeartbeatInterval = TimeSpan.Zero);
        File.WriteAllText(Path.Combine(server.Root, PagePath.TrimStart('/')), s_page);
        return server;
    }

    /// <summary>Reads the page until <paramref name="condition"/> holds or the settle timeout passes; returns the last read either way.</summary>
    private static async Task<TenStreamsPage> WaitForPageAsync(Browser browser, Func<TenStreamsPage, bool> condition)
    {
        var page = browser.ReadJson<TenStreamsPage>(ReadScript);
        await Polling.UntilAsync(() => condition(page = browser.ReadJson<TenStreamsPage>(ReadScript)), SettleTimeout);
        return page;
    }

    private sealed record TenStreamsPage(string? Protocol, IReadOnlyList<PageStream> Streams)
    {
        public override string ToString() =>
            $"protocol '{Protocol}', {Streams.Count} streams: [{string.Join(", ", Streams.Select(s => $"state {s.ReadyState} data [{string.Join(",", s.Data)}]"))}]";
    }

    private sealed record PageStream(int ReadyState, IReadOnlyList<string> Data);
}
