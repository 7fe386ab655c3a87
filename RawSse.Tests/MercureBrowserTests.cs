using System.Text.Json;
using OpenQA.Selenium;
using RawSse.Auth;
using RawSse.Mercure;

namespace RawSse.Tests;

/// <summary>
/// Mercure's endpoint and its authorization in a real headless Chromium: an EventSource on /.well-known/mercure with a
/// URI template selector, a private update that reaches only the tab holding the mercureAuthorization cookie, a cookie
/// an EventSource opened withCredentials carries from another origin (refused, then allowed through --cors-origins),
/// and the demo page's token field and private checkbox.
/// </summary>
[TestFixture]
[Category("Browser")]
public sealed class MercureBrowserTests
{
    private static readonly TimeSpan PageTimeout = TimeSpan.FromSeconds(10);
    private static readonly string PublishAll = Tokens.Hs256(Tokens.Mercure(publish: ["*"]));

    // Every record of a probe page, in arrival order: one <li> per open, error and message of each of its streams.
    private const string ProbeReadScript = """
        return JSON.stringify(Array.prototype.map.call(document.querySelectorAll('#events > li'), function (li) {
          var message = li.dataset.kind === 'message';
          return {
            stream: li.dataset.stream,
            kind: li.dataset.kind,
            readyState: Number(li.dataset.readyState),
            id: message ? li.dataset.id : null,
            data: message ? li.textContent : null
          };
        }));
        """;

    [Test]
    [CancelAfter(60_000)]
    public async Task EventSource_OnMercureEndpoint_ReceivesAPublicUpdate()
    {
        // Arrange: a page of the hub's own origin subscribes with a URI template selector.
        const string Id = """id-["https://example.net/foo/1"]""";
        const string Data = "first line\n\n  indented: with a colon\nünïcødé ✓ {\"json\": true}";
        await using var hub = AuthorizationTests.StartWithKey();
        WriteProbePage(hub, "books.html", ("books", "'/.well-known/mercure?topic=' + encodeURIComponent('https://example.com/books/{id}')", false));
        await using var browser = Browser.Start();
        browser.Open($"http://127.0.0.1:{hub.Port}/books.html");
        var opened = await WaitForProbeAsync(browser, r => r.Any(e => e.Kind == "open"));
        Assert.That(opened.Select(e => e.Kind), Does.Contain("open"), $"the EventSource opens first; the page recorded: {Show(opened)}");
        await hub.WaitForSubscribersAsync(1, PageTimeout);

        // Act
        var response = await AuthorizationTests.PublishAsync(hub, Form(("topic", "https://example.com/books/1"), ("id", Id), ("data", Data)),
            "Bearer " + PublishAll, MercureHandler.Path);
        var received = await WaitForProbeAsync(browser, r => r.Any(e => e.Kind == "message"));

        // Assert
        var messages = received.Where(e => e.Kind == "message").ToList();
        Assert.Multiple(() =>
        {
            Assert.That(response.Status, Is.EqualTo(200), Describe.Response(response));
            Assert.That(response.BodyText, Is.EqualTo(Id), "the hub answers with the publisher's own id");
            Assert.That(messages, Has.Count.EqualTo(1), $"the page recorded: {Show(received)}");
            Assert.That(messages.FirstOrDefault()?.Id, Is.EqualTo(Id), "the event's lastEventId, exactly as published");
            Assert.That(messages.FirstOrDefault()?.Data, Is.EqualTo(Data), $"the event's data, every line as published: {Describe.Escape(messages.FirstOrDefault()?.Data ?? "")}");
        });
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task PrivateUpdate_ReachesTheCookieAuthorisedTabOnly()
    {
        // Arrange: two browsers, so the cookie one holds is not the other's; both on the hub's own origin, which sends
        // the cookie with a same-origin EventSource.
        const string Topic = "https://example.com/users/7/inbox";
        string reader = Tokens.Hs256(Tokens.Mercure(subscribe: ["https://example.com/users/{id}/inbox"]));
        await using var hub = AuthorizationTests.StartWithKey();
        WriteProbePage(hub, "inbox.html", ("inbox", Js("/.well-known/mercure?topic=" + Uri.EscapeDataString(Topic)), false));
        string origin = $"http://127.0.0.1:{hub.Port}";
        await using var authorised = Browser.Start();
        await using var anonymous = Browser.Start();
        authorised.Open(origin + "/");
        authorised.Driver.Manage().Cookies.AddCookie(new Cookie(TokenSource.CookieName, reader, "/"));
        authorised.Open(origin + "/inbox.html");
        anonymous.Open(origin + "/inbox.html");
        var authorisedOpen = await WaitForProbeAsync(authorised, r => r.Any(e => e.Kind == "open"));
        var anonymousOpen = await WaitForProbeAsync(anonymous, r => r.Any(e => e.Kind == "open"));
        Assert.That(new[] { authorisedOpen, anonymousOpen }.Select(r => r.Any(e => e.Kind == "open")), Is.All.True,
            $"both streams open first; authorised: {Show(authorisedOpen)}; anonymous: {Show(anonymousOpen)}");
        await hub.WaitForSubscribersAsync(2, PageTimeout);

        // Act: the private update, then a public sentinel behind it.
        var secret = await AuthorizationTests.PublishAsync(hub, Form(("topic", Topic), ("data", "secret"), ("private", "on")), "Bearer " + PublishAll, MercureHandler.Path);
        var sentinel = await AuthorizationTests.PublishAsync(hub, Form(("topic", Topic), ("data", "sentinel")), "Bearer " + PublishAll, MercureHandler.Path);
        var authorisedSaw = await WaitForProbeAsync(authorised, r => Messages(r).Contains("sentinel"));
        var anonymousSaw = await WaitForProbeAsync(anonymous, r => Messages(r).Contains("sentinel"));

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(secret.Status, Is.EqualTo(200), Describe.Response(secret));
            Assert.That(sentinel.Status, Is.EqualTo(200), Describe.Response(sentinel));
            Assert.That(Messages(authorisedSaw), Is.EqualTo(new[] { "secret", "sentinel" }), $"the cookie's tab recorded: {Show(authorisedSaw)}");
            Assert.That(authorisedSaw.Where(e => e.Kind == "message").Select(e => e.Id), Is.EqualTo(new[] { secret.BodyText, sentinel.BodyText }));
            Assert.That(Messages(anonymousSaw), Is.EqualTo(new[] { "sentinel" }), $"the anonymous tab recorded: {Show(anonymousSaw)}");
        });
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task EventSourceWithCredentials_FromAForeignOrigin_IsRefused()
    {
        // Arrange: see CookieCarryingPage for why both servers are named localhost.
        await using var foreign = TestServer.StartWithoutHeartbeats();
        await using var hub = AuthorizationTests.StartWithKey();
        await using var browser = Browser.Start();
        OpenCookieCarryingPage(browser, hub, foreign, Tokens.Hs256(Tokens.Mercure(subscribe: ["t"])));

        // Act: the refusal of the cookie-carrying stream; then, while the anonymous stream listens, a private update and
        // a public sentinel behind it.
        bool refused = await Polling.UntilAsync(() => hub.Server.Metrics.Rejections(403) >= 1, PageTimeout);
        var failed = await WaitForProbeAsync(browser, r => r.Any(e => e.Stream == "credentials" && e.Kind == "error") && r.Any(e => e.Stream == "plain" && e.Kind == "open"));
        await hub.WaitForSubscribersAsync(1, PageTimeout);
        var secret = await AuthorizationTests.PublishAsync(hub, Form(("topic", "t"), ("data", "secret"), ("private", "on")), "Bearer " + PublishAll, MercureHandler.Path);
        var sentinel = await AuthorizationTests.PublishAsync(hub, Form(("topic", "t"), ("data", "sentinel")), "Bearer " + PublishAll, MercureHandler.Path);
        var after = await WaitForProbeAsync(browser, r => Messages(r, "plain").Contains("sentinel"));

        // Assert
        var credentials = after.Where(e => e.Stream == "credentials").ToList();
        Assert.Multiple(() =>
        {
            Assert.That(refused, Is.True, $"the hub refused a cookie-carrying request with 403 (refusals: {hub.Server.Metrics.Rejections(403)}; page: {Show(failed)})");
            Assert.That(credentials.Select(e => e.Kind), Is.EqualTo(new[] { "error" }), $"the credentialed EventSource only failed, never opened nor received: {Show(after)}");
            Assert.That(credentials.FirstOrDefault()?.ReadyState, Is.EqualTo(2), "and it is CLOSED: a refusal is not retried");
            Assert.That(secret.Status, Is.EqualTo(200), Describe.Response(secret));
            Assert.That(sentinel.Status, Is.EqualTo(200), Describe.Response(sentinel));
            Assert.That(Messages(after, "plain"), Is.EqualTo(new[] { "sentinel" }), $"the anonymous stream got the sentinel and not the private update: {Show(after)}");
            Assert.That(hub.Server.Metrics.Rejections(403), Is.EqualTo(1), "one refusal: the credentialed stream did not come back");
        });
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task EventSourceWithCredentials_FromAnAllowedOrigin_ReceivesPrivateUpdate()
    {
        // Arrange: the same pages, the page's origin now in --cors-origins.
        await using var app = TestServer.StartWithoutHeartbeats();
        await using var hub = AuthorizationTests.StartWithKey(o => o.CorsOrigins = [$"http://localhost:{app.Port}"]);
        await using var browser = Browser.Start();
        OpenCookieCarryingPage(browser, hub, app, Tokens.Hs256(Tokens.Mercure(subscribe: ["t"])));
        var opened = await WaitForProbeAsync(browser, r => r.Count(e => e.Kind == "open") == 2);
        Assert.That(opened.Where(e => e.Kind == "open").Select(e => e.Stream), Is.EquivalentTo(new[] { "credentials", "plain" }),
            $"both streams open first; the page recorded: {Show(opened)}");
        await hub.WaitForSubscribersAsync(2, PageTimeout);

        // Act
        var secret = await AuthorizationTests.PublishAsync(hub, Form(("topic", "t"), ("data", "secret"), ("private", "on")), "Bearer " + PublishAll, MercureHandler.Path);
        var sentinel = await AuthorizationTests.PublishAsync(hub, Form(("topic", "t"), ("data", "sentinel")), "Bearer " + PublishAll, MercureHandler.Path);
        var after = await WaitForProbeAsync(browser, r => Messages(r, "credentials").Contains("sentinel") && Messages(r, "plain").Contains("sentinel"));

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(secret.Status, Is.EqualTo(200), Describe.Response(secret));
            Assert.That(Messages(after, "credentials"), Is.EqualTo(new[] { "secret", "sentinel" }), $"the cookie authorised the credentialed stream: {Show(after)}");
            Assert.That(Messages(after, "plain"), Is.EqualTo(new[] { "sentinel" }), $"the stream without credentials stayed anonymous: {Show(after)}");
            Assert.That(after.Any(e => e.Kind == "error"), Is.False, $"no stream failed: {Show(after)}");
            Assert.That(hub.Server.Metrics.Rejections(403), Is.Zero, "nothing was refused");
        });
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task DemoPage_PrivateCheckboxAndToken_OnlyTheAuthorisedTabShowsIt()
    {
        // Arrange: the real demo page in two browsers; A with a token that may read "chat"'s private updates and publish.
        string secretText = "private-" + Guid.NewGuid().ToString("N");
        string publicText = "public-" + Guid.NewGuid().ToString("N");
        string token = Tokens.Hs256(Tokens.Mercure(publish: ["*"], subscribe: ["chat"]));
        await using var hub = AuthorizationTests.StartWithKey(o => o.Root = RepoPaths.Public);
        await using var tabA = Browser.Start();
        await using var tabB = Browser.Start();
        SubscribeOnDemoPage(tabA, hub, "chat", token);
        SubscribeOnDemoPage(tabB, hub, "chat", token: null);
        bool bothJoined = await Polling.UntilAsync(() => hub.Hub.CountSubscribers("chat") == 2, PageTimeout);
        Assert.That(bothJoined, Is.True, $"both tabs subscribe to chat first (subscribers of chat: {hub.Hub.CountSubscribers("chat")}); A: {tabA.Read()}; B: {tabB.Read()}");

        // Act
        string secretResult = await PublishOnDemoPageAsync(tabA, "chat", secretText, isPrivate: true, previousResult: "");
        string publicResult = await PublishOnDemoPageAsync(tabA, "chat", publicText, isPrivate: false, previousResult: secretResult);
        var sawA = await tabA.WaitForAsync(p => p.Events.Any(e => e.Text == publicText), PageTimeout);
        var sawB = await tabB.WaitForAsync(p => p.Events.Any(e => e.Text == publicText), PageTimeout);

        // Assert
        const string Published = "published as #";
        static string[] Texts(PageSnapshot page) => [.. page.Events.Where(e => e.IsMessage).Select(e => e.Text)];
        var secretEvent = sawA.Events.FirstOrDefault(e => e.Text == secretText);
        string? secretId = secretResult.StartsWith(Published, StringComparison.Ordinal) ? secretResult[Published.Length..] : null;
        Assert.Multiple(() =>
        {
            Assert.That(secretResult, Does.StartWith(Published), $"the private publish; A showed: {sawA}");
            Assert.That(publicResult, Does.StartWith(Published), $"the public publish; A showed: {sawA}");
            Assert.That(Texts(sawA), Is.EqualTo(new[] { secretText, publicText }), $"A (with the token) shows both; it showed: {sawA}");
            Assert.That(secretEvent?.Id, Is.EqualTo(secretId), "A lists the private update under the id the publisher was told");
            Assert.That(Texts(sawB), Is.EqualTo(new[] { publicText }), $"B (anonymous) shows the public one only; it showed: {sawB}");
        });
    }

    /// <summary>
    /// Gives <paramref name="browser"/> the hub's cookie and opens a page of <paramref name="pageServer"/> with two
    /// EventSources on the hub: "credentials" (<c>withCredentials: true</c>) and "plain" (without, so anonymous).
    /// </summary>
    /// <remarks>
    /// The page and the hub are both named localhost, on two ports. Cookies ignore ports (RFC 6265 §8.5) and a site is
    /// a scheme and a registrable domain, so localhost:page to localhost:hub is same-site: Chromium sends the cookie,
    /// which has no SameSite and so is Lax, with the subresource request. The origins still differ (RFC 6454: the port
    /// is part of an origin), so it is a cross-origin request (<c>Sec-Fetch-Site: same-site</c>, an <c>Origin</c>) to
    /// which CORS and the hub's cross-origin rule apply. A page on 127.0.0.1 calling a hub on localhost would be
    /// cross-site: the Lax cookie would not be sent, and the credentialed EventSource would fail all the same (the hub's
    /// <c>Access-Control-Allow-Origin: *</c> does not cover credentials), so the page alone cannot tell that the cookie
    /// reached the hub; the refusal test counts the hub's 403s for that (tried: with the page on 127.0.0.1 it sees none).
    /// Both servers accept localhost as a Host: they are bound to loopback.
    /// </remarks>
    private static void OpenCookieCarryingPage(Browser browser, TestServer hub, TestServer pageServer, string token)
    {
        string stream = Js($"http://localhost:{hub.Port}/.well-known/mercure?topic=t");
        WriteProbePage(pageServer, "page.html", ("credentials", stream, true), ("plain", stream, false));
        browser.Open($"http://localhost:{hub.Port}/");
        browser.Driver.Manage().Cookies.AddCookie(new Cookie(TokenSource.CookieName, token, "/"));
        browser.Open($"http://localhost:{pageServer.Port}/page.html");
    }

    /// <summary>
    /// Writes a page that opens one EventSource per stream and lists its open, error and message events in order.
    /// A stream's url is a JavaScript expression (a literal from <see cref="Js"/>, or one the page computes).
    /// </summary>
    private static void WriteProbePage(TestServer server, string name, params (string Name, string UrlExpression, bool WithCredentials)[] streams)
    {
        var opens = streams.Select(s => $"watch({Js(s.Name)}, {s.UrlExpression}, {(s.WithCredentials ? "true" : "false")});");
        File.WriteAllText(Path.Combine(server.Root, name), $$"""
            <!DOCTYPE html><meta charset="utf-8"><title>probe</title>
            <ol id="events"></ol>
            <script>
              function record(stream, es, kind, ev) {
                var li = document.createElement('li');
                li.dataset.stream = stream;
                li.dataset.kind = kind;
                li.dataset.readyState = String(es.readyState);
                if (ev) {
                  li.dataset.id = ev.lastEventId;
                  li.textContent = ev.data;
                }
                document.getElementById('events').appendChild(li);
              }
              function watch(stream, url, withCredentials) {
                var es = new EventSource(url, { withCredentials: withCredentials });
                es.addEventListener('open', function () { record(stream, es, 'open'); });
                es.addEventListener('error', function () { record(stream, es, 'error'); });
                es.addEventListener('message', function (ev) { record(stream, es, 'message', ev); });
              }
              {{string.Join("\n  ", opens)}}
            </script>
            """);
    }

    /// <summary>A JavaScript string literal of <paramref name="text"/> (JSON's escapes are JavaScript's).</summary>
    private static string Js(string text) => JsonSerializer.Serialize(text);

    private static IReadOnlyList<ProbeRecord> ReadProbe(Browser browser)
    {
        var json = browser.Driver.ExecuteScript(ProbeReadScript) as string
            ?? throw new InvalidOperationException("the probe script returned no JSON");
        return JsonSerializer.Deserialize<ProbeRecord[]>(json, new JsonSerializerOptions { PropertyNameCaseInsensitive = true })
            ?? throw new InvalidOperationException($"the probe script returned '{json}'");
    }

    /// <summary>Reads the probe page until <paramref name="condition"/> holds or the page timeout passes; returns the last read either way.</summary>
    private static async Task<IReadOnlyList<ProbeRecord>> WaitForProbeAsync(Browser browser, Func<IReadOnlyList<ProbeRecord>, bool> condition)
    {
        IReadOnlyList<ProbeRecord> last = [];
        await Polling.UntilAsync(() => condition(last = ReadProbe(browser)), PageTimeout);
        return last;
    }

    private static string[] Messages(IReadOnlyList<ProbeRecord> records, string? stream = null) =>
        [.. records.Where(e => e.Kind == "message" && (stream is null || e.Stream == stream)).Select(e => e.Data ?? "")];

    private static string Show(IReadOnlyList<ProbeRecord> records) =>
        records.Count == 0 ? "nothing" : string.Join(", ", records.Select(e => e.Kind == "message"
            ? $"{e.Stream}: message #{e.Id} '{Describe.Escape(e.Data ?? "")}'"
            : $"{e.Stream}: {e.Kind} (readyState {e.ReadyState})"));

    private static string Form(params (string Name, string Value)[] fields) =>
        string.Join("&", fields.Select(f => $"{Uri.EscapeDataString(f.Name)}={Uri.EscapeDataString(f.Value)}"));

    private static void SubscribeOnDemoPage(Browser tab, TestServer hub, string topics, string? token)
    {
        tab.Open($"http://127.0.0.1:{hub.Port}/");
        var form = tab.Driver.FindElement(By.CssSelector("form#subscribe"));
        form.FindElement(By.Id("topics")).SendKeys(topics);
        if (token is not null)
        {
            form.FindElement(By.Id("token")).SendKeys(token);
        }

        form.FindElement(By.CssSelector("button[type=submit]")).Click();
    }

    /// <summary>Fills and submits the demo page's publish form; returns #publish-result once it changes from <paramref name="previousResult"/> and is no longer pending.</summary>
    private static async Task<string> PublishOnDemoPageAsync(Browser tab, string topic, string data, bool isPrivate, string previousResult)
    {
        var form = tab.Driver.FindElement(By.CssSelector("form#publish"));
        var topicField = form.FindElement(By.Name("topic"));
        topicField.Clear();
        topicField.SendKeys(topic);
        var dataField = form.FindElement(By.Id("publish-data"));
        dataField.Clear();
        dataField.SendKeys(data);
        var checkbox = form.FindElement(By.Id("private"));
        if (checkbox.Selected != isPrivate)
        {
            checkbox.Click();
        }

        form.FindElement(By.CssSelector("button[type=submit]")).Click();
        var page = await tab.WaitForAsync(p => p.PublishResult != previousResult && p.PublishResult != "publishing…", PageTimeout);
        return page.PublishResult;
    }

    private sealed record ProbeRecord(string Stream, string Kind, int ReadyState, string? Id, string? Data);
}
