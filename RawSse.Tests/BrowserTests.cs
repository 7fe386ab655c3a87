using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using OpenQA.Selenium;
using RawSse.Sse;

namespace RawSse.Tests;

/// <summary>
/// The demo page (the real <c>public/</c> folder) in a real headless Chromium: EventSource opens, ticks are listed,
/// a restarted server is resumed through Last-Event-ID with no gap, and the publish form reaches other pages.
/// </summary>
[TestFixture]
[Category("Browser")]
public sealed class BrowserTests
{
    private const string ScreenshotCopy = "/tmp/rawsse-demo.png";
    private static readonly TimeSpan TickInterval = TimeSpan.FromMilliseconds(200);
    // Worst-case waits add up to well under the 30 s each test is allowed; a passing run takes 1-4 s.
    private static readonly TimeSpan PageTimeout = TimeSpan.FromSeconds(8);
    private static readonly TimeSpan DeliveryWait = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan DeliveryLimit = TimeSpan.FromSeconds(1);

    [Test]
    [CancelAfter(30_000)]
    public async Task DemoPage_LoadedFromRunningServer_OpensAndListsIncreasingTicks()
    {
        // Arrange
        await using var server = TestServer.Start(o =>
        {
            o.Root = RepoPaths.Public;
            o.TickInterval = TickInterval;
        });
        await using var browser = Browser.Start();

        // Act
        browser.Open(PageUrl(server.Port));
        var opened = await browser.WaitForAsync(p => p.State == "open", PageTimeout);
        var ticking = await browser.WaitForAsync(p => p.TickIds.Count >= 3, PageTimeout);
        string screenshot = SaveScreenshot(browser, "demo-page-loaded");

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(opened.State, Is.EqualTo("open"), $"#state text; the page showed: {opened}");
            Assert.That(opened.DataState, Is.EqualTo("open"), $"#state data-state; the page showed: {opened}");
            Assert.That(ticking.TickIds, Has.Count.GreaterThanOrEqualTo(3), $"li.event-tick items; the page showed: {ticking}");
            Assert.That(IsStrictlyIncreasing(ticking.TickIds), Is.True, $"tick data-ids in arrival order must strictly increase: [{string.Join(", ", ticking.TickIds)}]");
            Assert.That(ticking.CountValue, Is.GreaterThanOrEqualTo(3), $"#count; the page showed: {ticking}");
            Assert.That(File.Exists(screenshot), Is.True, $"screenshot at {screenshot}");
        });
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task DemoPage_ServerRestartsOnSamePort_ReconnectsAndListsEveryIdWithoutGapOrDuplicate()
    {
        // Arrange: one hub shared by both servers, so ids and the replay ring carry over the restart.
        var hub = new Hub(1000);
        int port = Loopback.FreeTcpPort();
        Server? serverA = null;
        Server? serverB = null;
        try
        {
            serverA = await StartOnPortAsync(port, hub);
            await using var browser = Browser.Start();
            browser.Open(PageUrl(port));
            var before = await browser.WaitForAsync(p => p.State == "open" && p.TickIds.Count >= 3, PageTimeout);
            Assert.That(before.TickIds, Has.Count.GreaterThanOrEqualTo(3), $"ticks before the restart; the page showed: {before}");

            // Act: stop A; publish while nothing listens on the port; start B on the same port.
            await serverA.DisposeAsync();
            serverA = null;
            var down = await browser.WaitForAsync(p => p.State == "connecting", TimeSpan.FromSeconds(5));
            var publishedWhileDown = new List<string>();
            for (int i = 0; i < 3; i++)
            {
                string time = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);
                publishedWhileDown.Add(hub.Publish(Hub.DefaultTopic, new SseEvent($$"""{"time":"{{time}}"}""", "tick")));
            }

            serverB = await StartOnPortAsync(port, hub);
            long lastWhileDown = PageSnapshot.SequenceOf(publishedWhileDown[^1]);
            var after = await browser.WaitForAsync(p => p.State == "open" && p.MaxId >= lastWhileDown + 3, PageTimeout);

            // Assert
            var ids = after.Ids;
            var numbers = ids.Select(PageSnapshot.SequenceOf).ToList();
            List<long> expected = numbers.Count == 0 ? [] : [.. Enumerable.Range(0, numbers.Count).Select(i => numbers[0] + i)];
            Assert.Multiple(() =>
            {
                Assert.That(down.State, Is.EqualTo("connecting"), $"#state while the server was down; the page showed: {down}");
                Assert.That(after.State, Is.EqualTo("open"), $"#state after the restart; the page showed: {after}");
                Assert.That(after.MaxId, Is.GreaterThanOrEqualTo(lastWhileDown + 3), $"ticks from server B after the downtime events; the page showed: {after}");
                Assert.That(ids, Is.SupersetOf(publishedWhileDown), $"the events published while the server was down ({string.Join(", ", publishedWhileDown)})");
                Assert.That(numbers, Is.EqualTo(expected), $"data-ids in arrival order must be contiguous, no gap and no duplicate; arrived: [{string.Join(", ", ids)}]");
            });
        }
        finally
        {
            if (serverA is not null)
            {
                await serverA.DisposeAsync();
            }

            if (serverB is not null)
            {
                await serverB.DisposeAsync();
            }
        }
    }

    [Test]
    [CancelAfter(30_000)]
    [Category("Timing")]
    public async Task PublishForm_SubmittedInOnePage_TextAppearsInOtherPageWithinOneSecond()
    {
        // Arrange
        const string Text = "hello from the page";
        await using var server = TestServer.Start(o => o.Root = RepoPaths.Public);
        await using var receiver = Browser.Start();
        await using var sender = Browser.Start();
        receiver.Open(PageUrl(server.Port));
        sender.Open(PageUrl(server.Port));
        var receiverOpen = await receiver.WaitForAsync(p => p.State == "open", PageTimeout);
        var senderOpen = await sender.WaitForAsync(p => p.State == "open", PageTimeout);
        Assert.That(new[] { receiverOpen.State, senderOpen.State }, Is.All.EqualTo("open"), $"both pages open first; receiver: {receiverOpen}; sender: {senderOpen}");
        var form = sender.Driver.FindElement(By.CssSelector("form#publish"));
        var topic = form.FindElement(By.Name("topic"));
        topic.Clear();
        topic.SendKeys("default");
        form.FindElement(By.Name("data")).SendKeys(Text);

        // Act
        var stopwatch = Stopwatch.StartNew();
        form.FindElement(By.CssSelector("button[type=submit]")).Click();
        var received = await receiver.WaitForAsync(p => p.Events.Any(e => e.Text.Contains(Text, StringComparison.Ordinal)), DeliveryWait);
        var elapsed = stopwatch.Elapsed;
        var sent = await sender.WaitForAsync(p => p.PublishResult.StartsWith("published as #", StringComparison.Ordinal), DeliveryWait);

        // Assert
        var arrived = received.Events.FirstOrDefault(e => e.Text.Contains(Text, StringComparison.Ordinal));
        Assert.Multiple(() =>
        {
            Assert.That(arrived, Is.Not.Null, $"'{Text}' in the other page's #events; it showed: {received}");
            Assert.That(elapsed, Is.LessThan(DeliveryLimit), $"from submit to the text in the other page (it showed: {received})");
            Assert.That(arrived?.IsMessage, Is.True, $"an unnamed event is listed as li.event.event-message; arrived: {arrived}");
            Assert.That(sent.PublishResult, Does.StartWith("published as #"), $"#publish-result in the sending page; it showed: {sent}");
            Assert.That(sent.PublishResult, Is.EqualTo("published as #" + arrived?.Id), "the id the publisher was told is the id the subscriber shows");
        });
        TestContext.Out.WriteLine($"form submit to other page: {elapsed.TotalMilliseconds:F0} ms");
    }

    [Test]
    [CancelAfter(30_000)]
    [Category("Timing")]
    public async Task PublishEndpoint_PostFromHttpClient_TextAppearsInPageWithinOneSecond()
    {
        // Arrange
        const string Text = "hello from HttpClient";
        await using var server = TestServer.Start(o => o.Root = RepoPaths.Public);
        await using var browser = Browser.Start();
        browser.Open(PageUrl(server.Port));
        var opened = await browser.WaitForAsync(p => p.State == "open", PageTimeout);
        Assert.That(opened.State, Is.EqualTo("open"), $"the page opens first; it showed: {opened}");
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = new Uri(PageUrl(server.Port)), Timeout = TimeSpan.FromSeconds(5) };

        // Act
        var stopwatch = Stopwatch.StartNew();
        using var response = await http.PostAsync("/publish", new FormUrlEncodedContent([new("topic", Hub.DefaultTopic), new("data", Text)]));
        string id = (await response.Content.ReadAsStringAsync()).Trim();
        var received = await browser.WaitForAsync(p => p.Events.Any(e => e.Text == Text), DeliveryWait);
        var elapsed = stopwatch.Elapsed;

        // Assert
        var arrived = received.Events.FirstOrDefault(e => e.Text == Text);
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), $"POST /publish answered '{id}'");
            Assert.That(arrived, Is.Not.Null, $"'{Text}' in #events; the page showed: {received}");
            Assert.That(arrived?.Id, Is.EqualTo(id), "the page lists the event under the id /publish returned");
            Assert.That(elapsed, Is.LessThan(DeliveryLimit), "from POST to the text in the page");
        });
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Screenshot_DemoPageWithEvents_IsSizablePngOfReasonableDimensions()
    {
        // Arrange: ticks, plus one unnamed message so both kinds of row are in the picture.
        await using var server = TestServer.Start(o =>
        {
            o.Root = RepoPaths.Public;
            o.TickInterval = TickInterval;
        });
        await using var browser = Browser.Start();
        browser.Open(PageUrl(server.Port));
        await browser.WaitForAsync(p => p.State == "open" && p.TickIds.Count >= 2, PageTimeout);
        server.Hub.Publish(Hub.DefaultTopic, new SseEvent("hello from the screenshot test"));
        var ready = await browser.WaitForAsync(p => p.VisibleEvents >= 5 && p.Events.Any(e => e.IsMessage), PageTimeout);

        // Act: the DOM is read right before the shot; rows are only ever added in between, so it is a lower bound.
        var atShot = browser.Read();
        string path = SaveScreenshot(browser, "demo-page-screenshot");
        byte[] png = File.ReadAllBytes(path);

        // Assert
        bool isPng = png.Length > 24 && png.AsSpan(0, 8).SequenceEqual(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A });
        string firstChunk = png.Length > 16 ? System.Text.Encoding.ASCII.GetString(png, 12, 4) : "";
        int width = png.Length > 24 ? BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16, 4)) : -1;
        int height = png.Length > 24 ? BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20, 4)) : -1;
        TestContext.Out.WriteLine($"screenshot {path}: {png.Length:N0} bytes, {width}x{height}, {atShot.VisibleEvents} events visible");
        Assert.Multiple(() =>
        {
            Assert.That(ready.Events.Any(e => e.IsMessage), Is.True, $"the published message is listed; the page showed: {ready}");
            Assert.That(atShot.VisibleEvents, Is.GreaterThanOrEqualTo(3), $"events in the viewport when the screenshot was taken; the page showed: {atShot}");
            Assert.That(isPng, Is.True, "the file starts with the PNG signature");
            Assert.That(firstChunk, Is.EqualTo("IHDR"), "the first PNG chunk");
            Assert.That(png, Has.Length.GreaterThan(10 * 1024), "PNG size in bytes: a blank or broken page compresses to almost nothing");
            Assert.That(width, Is.InRange(640, 3840), "PNG width from IHDR (the window is 1280 wide)");
            Assert.That(height, Is.InRange(400, 2160), "PNG height from IHDR (the window is 900 high)");
        });
    }

    private static string PageUrl(int port) => $"http://127.0.0.1:{port}/";

    private static ServerOptions RestartableOptions(int port) => new()
    {
        BindAddress = IPAddress.Loopback,
        Port = port,
        Root = RepoPaths.Public,
        TickInterval = TickInterval,
        Retry = TimeSpan.FromMilliseconds(300),
        ShutdownTimeout = TimeSpan.FromSeconds(1),
    };

    // Right after a stop the port can still be held for a moment (TIME_WAIT, a listener being torn down): retry.
    private static async Task<Server> StartOnPortAsync(int port, Hub hub)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var server = new Server(RestartableOptions(port), loggerFactory: null, hub);
            try
            {
                server.Start();
                return server;
            }
            catch (SocketException ex) when (ex.SocketErrorCode == SocketError.AddressAlreadyInUse && deadline.Elapsed < TimeSpan.FromSeconds(5))
            {
                await server.DisposeAsync();
                await Task.Delay(50);
            }
            catch
            {
                await server.DisposeAsync();
                throw;
            }
        }
    }

    private static bool IsStrictlyIncreasing(IReadOnlyList<string> ids)
    {
        long previous = long.MinValue;
        foreach (var id in ids)
        {
            long n = PageSnapshot.SequenceOf(id);
            if (n < 0 || n <= previous)
            {
                return false;
            }

            previous = n;
        }

        return true;
    }

    // Saved beside the test results and attached to the test; the copy in /tmp is for a person to look at.
    private static string SaveScreenshot(Browser browser, string name)
    {
        string path = Path.Combine(TestContext.CurrentContext.WorkDirectory, $"rawsse-{name}.png");
        browser.SaveScreenshot(path);
        TestContext.AddTestAttachment(path, "demo page with events");
        File.Copy(path, ScreenshotCopy, overwrite: true);
        return path;
    }
}
