using System.Diagnostics;

namespace RawSse.Tests;

/// <summary>
/// Cross-site publishing tried by a real headless Chromium: a page served from another origin (a second server, on
/// another port) posts a form and calls fetch at RawSse's /publish, and is refused; a page of an allowed origin
/// publishes with a bearer token through a CORS preflight, and its event arrives.
/// </summary>
[TestFixture]
[Category("Browser")]
public sealed class CrossSiteBrowserTests
{
    private const string Token = "s3cret";
    private static readonly TimeSpan PageTimeout = TimeSpan.FromSeconds(10);

    [Test]
    [CancelAfter(60_000)]
    public async Task PageFromAnotherOrigin_FormPostAndFetch_RefusedNothingPublished()
    {
        // Arrange: the hub on one port, the attacker's page on another.
        await using var hub = TestServer.StartWithoutHeartbeats();
        await using var evil = TestServer.StartWithoutHeartbeats();
        using var subscriber = await SseStream.OpenStreamAsync(hub, "/sse?topic=chat", PageTimeout, waitForSubscriber: true);
        string target = $"http://127.0.0.1:{hub.Port}/publish";
        File.WriteAllText(Path.Combine(evil.Root, "attack.html"), $$"""
            <!DOCTYPE html><title>attack</title>
            <iframe name="sink"></iframe>
            <form id="f" method="post" action="{{target}}" target="sink">
              <input name="topic" value="chat"><input name="data" value="csrf-form">
            </form>
            <p id="result">pending</p>
            <script>
              document.getElementById('f').submit();
              fetch('{{target}}', { method: 'POST', mode: 'no-cors', body: new URLSearchParams({ topic: 'chat', data: 'csrf-fetch' }) })
                .then(() => document.getElementById('result').textContent = 'sent', () => document.getElementById('result').textContent = 'failed');
            </script>
            """);
        await using var browser = Browser.Start();

        // Act
        browser.Open($"http://localhost:{evil.Port}/attack.html");
        bool bothArrived = await Polling.UntilAsync(() => hub.Server.Metrics.Rejections(403) >= 2, PageTimeout);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(bothArrived, Is.True, $"the form and the fetch reached the hub and were refused with 403 (refusals: {hub.Server.Metrics.Rejections(403)}; page: {PageText(browser)})");
            Assert.That(hub.Server.Metrics.EventsPublished, Is.Zero, "nothing was published");
        });
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task PageFromAllowedOrigin_FetchWithBearerToken_PreflightPassesAndEventArrives()
    {
        // Arrange: the app's page on its own port, named in --cors-origins.
        await using var app = TestServer.StartWithoutHeartbeats();
        await using var hub = TestServer.StartWithoutHeartbeats(o =>
        {
            o.PublishToken = Token;
            o.CorsOrigins = [$"http://localhost:{app.Port}"];
        });
        using var subscriber = await SseStream.OpenStreamAsync(hub, "/sse?topic=chat", PageTimeout, waitForSubscriber: true);
        File.WriteAllText(Path.Combine(app.Root, "app.html"), $$"""
            <!DOCTYPE html><title>app</title>
            <p id="result">pending</p>
            <script>
              fetch('http://127.0.0.1:{{hub.Port}}/publish', {
                method: 'POST',
                headers: { 'Authorization': 'Bearer {{Token}}', 'Content-Type': 'application/x-www-form-urlencoded' },
                body: 'topic=chat&data=from-the-app'
              })
                .then(r => r.text().then(t => document.getElementById('result').textContent = r.status + ' ' + t))
                .catch(e => document.getElementById('result').textContent = 'error ' + e);
            </script>
            """);
        await using var browser = Browser.Start();

        // Act
        browser.Open($"http://localhost:{app.Port}/app.html");
        string? result = null;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < PageTimeout && (result = PageText(browser)) == "pending")
        {
            await Task.Delay(100);
        }

        string frame = await subscriber.ReadUntilAsync("\n\n", PageTimeout);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(result, Does.StartWith($"200 {hub.Hub.Epoch}-"), "the page read the event's id: the preflight and the POST passed");
            Assert.That(frame, Does.EndWith("data: from-the-app\n\n"), Describe.Escape(frame));
        });
    }

    private static string PageText(Browser browser) =>
        browser.Driver.ExecuteScript("return document.getElementById('result').textContent") as string ?? "";
}
