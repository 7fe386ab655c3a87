using System.Globalization;
using System.Net;
using System.Text;

namespace RawSse.Tests;

/// <summary>
/// What a page on another site can make a developer's browser send to a RawSse on loopback, sent byte for byte as
/// Chromium sends it: a form POST and a fetch from another origin (CSRF), a name a rebinding DNS server points at
/// 127.0.0.1, and a read of /metrics. None of it may publish or learn a topic name; a page of an allowed origin may
/// publish through CORS.
/// </summary>
[TestFixture]
public sealed class CrossSiteTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private const string Body = "topic=chat&data=forged";

    // The head Chromium 13x sends for <form method=post action="http://127.0.0.1:PORT/publish"> on https://evil.example.
    private static string FormPostFrom(string origin, string? fetchSite, int port, string extra = "") =>
        $"POST /publish HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: keep-alive\r\nContent-Length: {Body.Length}\r\n" +
        "Cache-Control: max-age=0\r\nUpgrade-Insecure-Requests: 1\r\n" +
        $"Origin: {origin}\r\nContent-Type: application/x-www-form-urlencoded\r\n" +
        "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36\r\n" +
        "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n" +
        (fetchSite is null ? "" : $"Sec-Fetch-Site: {fetchSite}\r\nSec-Fetch-Mode: navigate\r\nSec-Fetch-User: ?1\r\nSec-Fetch-Dest: document\r\n") +
        $"{extra}Accept-Encoding: gzip, deflate, br\r\nAccept-Language: en-US,en;q=0.9\r\n\r\n{Body}";

    [TestCase("https://evil.example", "cross-site", TestName = "Publish_FormPostFromAnotherSite_Returns403")]
    [TestCase("http://localhost:9999", "same-site", TestName = "Publish_FormPostFromAnotherPortSameSite_Returns403")]
    [TestCase("https://evil.example", null, TestName = "Publish_OldBrowserOriginNotHost_Returns403")]
    [TestCase("null", null, TestName = "Publish_OpaqueNullOrigin_Returns403")]
    public async Task Publish_CrossOrigin_Refused403AndClosedNothingPublished(string origin, string? fetchSite)
    {
        // Arrange
        await using var server = TestServer.StartWithoutHeartbeats();
        using var stream = await SseStream.OpenStreamAsync(server, "/sse?topic=chat", Timeout, waitForSubscriber: true);
        using var attacker = await server.ConnectAsync();

        // Act
        await attacker.SendAsync(FormPostFrom(origin, fetchSite, server.Port));
        var response = await attacker.ReadResponseAsync(timeout: Timeout);
        bool closed = await attacker.WaitForCloseAsync(Timeout);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(response.Status, Is.EqualTo(403), Describe.Response(response));
            Assert.That(response.Headers.GetValueOrDefault("Connection"), Is.EqualTo("close"), Describe.Response(response));
            Assert.That(closed, Is.True, "the connection closes after the refusal");
            Assert.That(server.Server.Metrics.EventsPublished, Is.Zero, "nothing was published");
        });
    }

    [Test]
    public async Task Publish_FetchFromSameOrigin_Returns200()
    {
        // Arrange: the demo page itself publishing with fetch().
        await using var server = TestServer.StartWithoutHeartbeats();
        using var client = await server.ConnectAsync();
        string head = $"POST /publish HTTP/1.1\r\nHost: 127.0.0.1:{server.Port}\r\nContent-Length: {Body.Length}\r\n" +
            $"Content-Type: application/x-www-form-urlencoded\r\nOrigin: http://127.0.0.1:{server.Port}\r\n" +
            "Sec-Fetch-Site: same-origin\r\nSec-Fetch-Mode: cors\r\nSec-Fetch-Dest: empty\r\n\r\n";

        // Act
        await client.SendAsync(head + Body);
        var response = await client.ReadResponseAsync(timeout: Timeout);

        // Assert
        Assert.That(response.Status, Is.EqualTo(200), Describe.Response(response));
    }

    [Test]
    public async Task Publish_OriginMatchingHostWithoutFetchMetadata_Returns200()
    {
        // Arrange: an older browser, same origin: Origin's host is the request's Host.
        await using var server = TestServer.StartWithoutHeartbeats();
        using var client = await server.ConnectAsync();

        // Act
        await client.SendAsync($"POST /publish HTTP/1.1\r\nHost: localhost:{server.Port}\r\nOrigin: http://localhost:{server.Port}\r\n" +
            $"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {Body.Length}\r\n\r\n{Body}");
        var response = await client.ReadResponseAsync(timeout: Timeout);

        // Assert
        Assert.That(response.Status, Is.EqualTo(200), Describe.Response(response));
    }

    [Test]
    public async Task Publish_AllowedOriginPreflightThenBearerPost_GetsCorsGrantAndPublishes()
    {
        // Arrange
        const string Origin = "https://app.example";
        await using var server = TestServer.StartWithoutHeartbeats(o =>
        {
            o.PublishToken = "s3cret";
            o.CorsOrigins = [Origin];
        });
        using var client = await server.ConnectAsync();

        // Act: what Chromium sends before a fetch with an Authorization header, then the POST itself.
        await client.SendAsync($"OPTIONS /publish HTTP/1.1\r\nHost: 127.0.0.1:{server.Port}\r\nOrigin: {Origin}\r\n" +
            "Access-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: authorization,content-type\r\n" +
            "Sec-Fetch-Mode: cors\r\nSec-Fetch-Site: cross-site\r\nSec-Fetch-Dest: empty\r\n\r\n");
        var preflight = await client.ReadResponseAsync(expectBody: false, Timeout);
        await client.SendAsync($"POST /publish HTTP/1.1\r\nHost: 127.0.0.1:{server.Port}\r\nOrigin: {Origin}\r\n" +
            $"Authorization: Bearer s3cret\r\nContent-Type: application/x-www-form-urlencoded\r\nSec-Fetch-Site: cross-site\r\n" +
            $"Sec-Fetch-Mode: cors\r\nContent-Length: {Body.Length}\r\n\r\n{Body}");
        var post = await client.ReadResponseAsync(timeout: Timeout);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(preflight.Status, Is.EqualTo(204), Describe.Response(preflight));
            Assert.That(preflight.Headers.GetValueOrDefault("Access-Control-Allow-Origin"), Is.EqualTo(Origin), Describe.Response(preflight));
            Assert.That(preflight.Headers.GetValueOrDefault("Access-Control-Allow-Headers"), Does.Contain("Authorization"), Describe.Response(preflight));
            Assert.That(preflight.Headers.ContainsKey("Content-Length"), Is.False, "a 204 has no Content-Length");
            Assert.That(post.Status, Is.EqualTo(200), Describe.Response(post));
            Assert.That(post.Headers.GetValueOrDefault("Access-Control-Allow-Origin"), Is.EqualTo(Origin), Describe.Response(post));
            Assert.That(post.Headers.GetValueOrDefault("Vary"), Is.EqualTo("Origin"), Describe.Response(post));
        });
    }

    [Test]
    public async Task Publish_PreflightFromOriginNotAllowed_GetsNoCorsGrant()
    {
        // Arrange
        await using var server = TestServer.StartWithoutHeartbeats(o => o.CorsOrigins = ["https://app.example"]);
        using var client = await server.ConnectAsync();

        // Act
        await client.SendAsync($"OPTIONS /publish HTTP/1.1\r\nHost: 127.0.0.1:{server.Port}\r\nOrigin: https://evil.example\r\n" +
            "Access-Control-Request-Method: POST\r\n\r\n");
        var preflight = await client.ReadResponseAsync(expectBody: false, Timeout);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(preflight.Status, Is.EqualTo(204), Describe.Response(preflight));
            Assert.That(preflight.Headers.ContainsKey("Access-Control-Allow-Origin"), Is.False, $"no grant: {Describe.Response(preflight)}");
        });
    }

    [TestCase("evil.example", 421)]
    [TestCase("evil.example:8080", 421)]
    [TestCase("127.0.0.2", 421)]
    [TestCase("localhost", 200)]
    [TestCase("LOCALHOST:1234", 200)]
    [TestCase("127.0.0.1:80", 200)]
    [TestCase("[::1]:8080", 200)]
    [TestCase("[::1]", 200)]
    public async Task AnyRequest_HostOnLoopbackServer_OnlyLoopbackNamesAnswered(string host, int expected)
    {
        // Arrange: a server started without the suite's extra test host names, as the executable runs by default.
        await using var server = TestServer.Start(o => o.AllowedHosts = []);
        using var client = await server.ConnectAsync();

        // Act: DNS rebinding: the page's own name, now pointing at 127.0.0.1, in Host.
        await client.SendAsync($"GET /metrics HTTP/1.1\r\nHost: {host}\r\n\r\n");
        var response = await client.ReadResponseAsync(timeout: Timeout);

        // Assert
        Assert.That(response.Status, Is.EqualTo(expected), $"Host: {host}: {Describe.Response(response)}");
    }

    [Test]
    public async Task AnyRequest_HostInAllowedHosts_Answered()
    {
        // Arrange
        await using var server = TestServer.Start(o => o.AllowedHosts = ["sse.example.com"]);
        using var client = await server.ConnectAsync();

        // Act
        await client.SendAsync("GET / HTTP/1.1\r\nHost: sse.example.com:443\r\n\r\n");
        var allowed = await client.ReadResponseAsync(timeout: Timeout);
        await client.SendAsync("GET / HTTP/1.1\r\nHost: other.example.com\r\n\r\n");
        var refused = await client.ReadResponseAsync(timeout: Timeout);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(allowed.Status, Is.EqualTo(200), Describe.Response(allowed));
            Assert.That(refused.Status, Is.EqualTo(421), Describe.Response(refused));
        });
    }

    [Test]
    public async Task Metrics_SubscribedTopics_NoTopicNameAppearsUnlessNamed()
    {
        // Arrange
        await using var server = TestServer.StartWithoutHeartbeats(o => o.MetricsTopics = ["lobby"]);
        using var secret = await SseStream.OpenStreamAsync(server, "/sse?topic=secret-room-42", Timeout, waitForSubscriber: true);
        using var lobby = await SseStream.OpenStreamAsync(server, "/sse?topic=lobby", Timeout, waitForSubscriber: true);
        using var client = await server.ConnectAsync();

        // Act
        await client.SendAsync("GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n");
        var response = await client.ReadResponseAsync(timeout: Timeout);
        string text = response.BodyText;

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(text, Does.Not.Contain("secret-room-42"), "a topic name is not public");
            Assert.That(text, Does.Contain("rawsse_subscribers 2\n"), text);
            Assert.That(text, Does.Contain("rawsse_topics 2\n"), text);
            Assert.That(text, Does.Contain("rawsse_topic_subscribers{topic=\"lobby\"} 1\n"), "a topic named by --metrics-topics");
        });
    }

    [Test]
    public async Task Metrics_ThousandsOfTopics_TextStaysTheSameSize()
    {
        // Arrange
        await using var server = TestServer.StartWithoutHeartbeats();
        using var client = await server.ConnectAsync();
        await client.SendAsync("GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n");
        int before = (await client.ReadResponseAsync(timeout: Timeout)).Body.Length;

        // Act
        for (int i = 0; i < 2000; i++)
        {
            server.Hub.Publish(string.Create(CultureInfo.InvariantCulture, $"topic-{i}"), new RawSse.Sse.SseEvent("x"));
        }

        await client.SendAsync("GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n");
        var after = await client.ReadResponseAsync(timeout: Timeout);

        // Assert: the counters' digits may grow, the label set may not.
        Assert.That(after.Body.Length, Is.LessThan(before + 100), Encoding.UTF8.GetString(after.Body));
    }
}
