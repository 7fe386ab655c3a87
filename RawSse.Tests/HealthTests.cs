using RawSse.Sse;
using RawSse.Store;

namespace RawSse.Tests;

/// <summary><c>/healthz</c> and <c>/readyz</c> on the wire: statuses, headers and bodies, with and without a log shared with other nodes.</summary>
[TestFixture]
public sealed class HealthTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    [TestCase("/healthz", "ok\n")]
    [TestCase("/readyz", "ready\n")]
    public async Task Get_NoStore_200PlainTextNotCached(string path, string body)
    {
        // Arrange
        await using var server = TestServer.Start();
        using var client = await server.ConnectAsync();

        // Act
        var response = await GetAsync(client, path);

        // Assert
        AssertAnswer(response, 200, body);
        Assert.That(response.Headers.ContainsKey("Retry-After"), Is.False, Describe.Response(response));
    }

    [TestCase("/healthz", "ok\n")]
    [TestCase("/readyz", "ready\n")]
    public async Task Head_NoStore_HeadAloneThenConnectionGoesOn(string path, string body)
    {
        // Arrange
        await using var server = TestServer.Start();
        using var client = await server.ConnectAsync();

        // Act: a body after the HEAD's head would be read as the next response's status line.
        var head = await HeadAsync(client, path);
        var get = await GetAsync(client, path);

        // Assert
        Assert.That(head.Status, Is.EqualTo(200), Describe.Response(head));
        Assert.That(head.ContentLength, Is.EqualTo(body.Length), Describe.Response(head));
        Assert.That(head.Headers.GetValueOrDefault("Cache-Control"), Is.EqualTo("no-store"), Describe.Response(head));
        AssertAnswer(get, 200, body);
    }

    [Test]
    public async Task Get_Readyz_LogWithoutStatus_200Ready()
    {
        // Arrange: a log of this process alone (memory, SQLite) is always ready.
        await using var server = TestServer.Start(o => o.Store = "memory");
        using var client = await server.ConnectAsync();

        // Act
        var response = await GetAsync(client, "/readyz");

        // Assert
        Assert.That(server.Hub.Log, Is.Not.Null.And.Not.InstanceOf<IEventLogStatus>());
        AssertAnswer(response, 200, "ready\n");
    }

    [Test]
    public async Task Readyz_StoreNotReady_503RetryAfterWithLagForGetAndHeadThen200WhenReady()
    {
        // Arrange
        var log = new StatusEventLog { IsReady = false, Lag = 7 };
        await using var server = TestServer.Start(hub: new Hub(HubLimits.Default, log));
        using var client = await server.ConnectAsync();

        // Act: all on one connection, which a 503 does not close.
        var unready = await GetAsync(client, "/readyz");
        var unreadyHead = await HeadAsync(client, "/readyz");
        var live = await GetAsync(client, "/healthz");
        log.IsReady = true;
        log.Lag = 0;
        var ready = await GetAsync(client, "/readyz");

        // Assert
        const string Reason = "store not connected or catching up (lag 7)\n";
        AssertAnswer(unready, 503, Reason);
        Assert.That(unready.Headers.GetValueOrDefault("Retry-After"), Is.EqualTo("1"), Describe.Response(unready));
        Assert.That(unreadyHead.Status, Is.EqualTo(503), Describe.Response(unreadyHead));
        Assert.That(unreadyHead.Headers.GetValueOrDefault("Retry-After"), Is.EqualTo("1"), Describe.Response(unreadyHead));
        Assert.That(unreadyHead.ContentLength, Is.EqualTo(Reason.Length), Describe.Response(unreadyHead));
        AssertAnswer(live, 200, "ok\n");
        AssertAnswer(ready, 200, "ready\n");
    }

    [TestCase("POST", "/healthz")]
    [TestCase("DELETE", "/readyz")]
    [TestCase("PUT", "/readyz")]
    public async Task OtherMethod_405WithAllow(string method, string path)
    {
        // Arrange
        await using var server = TestServer.Start();
        using var client = await server.ConnectAsync();

        // Act
        await client.SendAsync($"{method} {path} HTTP/1.1\r\nHost: test\r\nContent-Length: 0\r\n\r\n");
        var response = await client.ReadResponseAsync(timeout: Timeout);

        // Assert
        Assert.That(response.Status, Is.EqualTo(405), Describe.Response(response));
        Assert.That(response.Headers.GetValueOrDefault("Allow"), Is.EqualTo("GET, HEAD"), Describe.Response(response));
    }

    [TestCase("/healthz")]
    [TestCase("/readyz")]
    public async Task Get_HostNotAnswered_421LikeEveryRoute(string path)
    {
        // Arrange: bound to loopback with no extra names, as the executable runs by default (DNS rebinding).
        await using var server = TestServer.Start(o => o.AllowedHosts = []);
        using var client = await server.ConnectAsync();

        // Act
        await client.SendAsync($"GET {path} HTTP/1.1\r\nHost: attacker.example\r\n\r\n");
        var response = await client.ReadResponseAsync(timeout: Timeout);

        // Assert
        Assert.That(response.Status, Is.EqualTo(421), Describe.Response(response));
    }

    private static async Task<HttpResponse> GetAsync(RawClient client, string path)
    {
        await client.SendAsync($"GET {path} HTTP/1.1\r\nHost: test\r\n\r\n");
        return await client.ReadResponseAsync(timeout: Timeout);
    }

    private static async Task<HttpResponse> HeadAsync(RawClient client, string path)
    {
        await client.SendAsync($"HEAD {path} HTTP/1.1\r\nHost: test\r\n\r\n");
        return await client.ReadResponseAsync(expectBody: false, timeout: Timeout);
    }

    private static void AssertAnswer(HttpResponse response, int status, string body)
    {
        Assert.Multiple(() =>
        {
            Assert.That(response.Status, Is.EqualTo(status), Describe.Response(response));
            Assert.That(response.Headers.GetValueOrDefault("Content-Type"), Is.EqualTo("text/plain; charset=utf-8"), Describe.Response(response));
            Assert.That(response.Headers.GetValueOrDefault("Cache-Control"), Is.EqualTo("no-store"), Describe.Response(response));
            Assert.That(response.BodyText, Is.EqualTo(body), Describe.Response(response));
        });
    }
}
