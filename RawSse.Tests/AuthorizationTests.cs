using System.Globalization;
using System.Text;

namespace RawSse.Tests;

/// <summary>
/// JWT authorization on the wire, with real tokens: who may publish (<c>mercure.publish</c>), who receives private
/// updates (<c>mercure.subscribe</c>), where a token may come from (header, cookie, query), the cross-site rule for
/// cookies, CORS with credentials, anonymous subscribers, and a stream that ends when its token expires.
/// </summary>
[TestFixture]
public sealed class AuthorizationTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private static readonly string PublishAll = Tokens.Hs256(Tokens.Mercure(publish: ["*"]));

    [Test]
    public async Task Publish_TokenWithPublishClaim_Answers200AndDelivers()
    {
        // Arrange
        await using var server = StartWithKey();
        using var stream = await OpenAsync(server, "/sse?topic=news");

        // Act
        var response = await PublishAsync(server, "topic=news&data=hello", "Bearer " + PublishAll);
        string frame = await stream.ReadUntilAsync("\n\n", Timeout);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(response.Status, Is.EqualTo(200), response.RawHead);
            Assert.That(frame, Is.EqualTo($"id: {response.BodyText}\ndata: hello\n\n"));
        });
    }

    [TestCase(null, 401, TestName = "Publish_NoToken_Answers401")]
    [TestCase("Bearer not.a.token", 401, TestName = "Publish_Garbage_Answers401")]
    [TestCase("Basic dXNlcjpwYXNz", 401, TestName = "Publish_BasicCredentials_Answers401")]
    public async Task Publish_WithoutAValidToken_IsRefused(string? authorization, int expected)
    {
        // Arrange
        await using var server = StartWithKey();

        // Act
        var response = await PublishAsync(server, "topic=news&data=x", authorization);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(response.Status, Is.EqualTo(expected), response.RawHead);
            Assert.That(response.Headers.GetValueOrDefault("WWW-Authenticate"), Is.EqualTo("Bearer"));
            Assert.That(server.Hub.ReplayBytes, Is.Zero, "nothing was published");
        });
    }

    [Test]
    public async Task Publish_TokenSignedWithAnotherKeyOrMalformedClaim_Answers401()
    {
        // Arrange
        await using var server = StartWithKey();
        string otherKey = Tokens.Hs256(Tokens.Mercure(publish: ["*"]), secret: "another-secret-of-at-least-32-bytes!");
        string malformed = Tokens.Hs256(new Dictionary<string, object> { ["mercure"] = new Dictionary<string, object> { ["publish"] = "*" } });
        string truncated = PublishAll[..^2];

        // Act
        var other = await PublishAsync(server, "topic=a&data=1", "Bearer " + otherKey);
        var claim = await PublishAsync(server, "topic=a&data=2", "Bearer " + malformed);
        var cut = await PublishAsync(server, "topic=a&data=3", "Bearer " + truncated);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(other.Status, Is.EqualTo(401), "signed with another key");
            Assert.That(claim.Status, Is.EqualTo(401), "mercure.publish is not a list");
            Assert.That(cut.Status, Is.EqualTo(401), "a signature cut short");
            Assert.That(server.Hub.ReplayBytes, Is.Zero, "nothing was published");
        });
    }

    [Test]
    public async Task Publish_TokenExpiredWithinTheClockSkew_IsTaken()
    {
        // Arrange: 3 s past exp is within the 10 s skew; a minute is not (see Subscribe_ExpiredToken_Answers401).
        await using var server = StartWithKey();
        string token = Tokens.Hs256(Tokens.Mercure(publish: ["*"]), expires: DateTime.UtcNow.AddSeconds(-3));

        // Act
        var response = await PublishAsync(server, "topic=a&data=1", "Bearer " + token);

        // Assert
        Assert.That(response.Status, Is.EqualTo(200), response.RawHead);
    }

    [Test]
    public async Task Publish_TokenWithoutPublishClaim_Answers403()
    {
        // Arrange
        await using var server = StartWithKey();
        string subscriberOnly = Tokens.Hs256(Tokens.Mercure(subscribe: ["*"]));

        // Act
        var response = await PublishAsync(server, "topic=news&data=x", "Bearer " + subscriberOnly);

        // Assert
        Assert.That(response.Status, Is.EqualTo(403), response.RawHead);
    }

    [Test]
    public async Task Publish_OneTopicOutsideTheClaim_Answers403AndDeliversNothing()
    {
        // Arrange
        await using var server = StartWithKey();
        using var stream = await OpenAsync(server, "/sse?topic=https://example.com/books/1&topic=admin");
        string books = Tokens.Hs256(Tokens.Mercure(publish: ["https://example.com/books/{id}"]));

        // Act: every topic of an update must be allowed; one that is not refuses the whole update.
        var refused = await PublishAsync(server, "topic=https://example.com/books/1&topic=admin&data=x", "Bearer " + books);
        var allowed = await PublishAsync(server, "topic=https://example.com/books/1&data=y", "Bearer " + books);
        string frame = await stream.ReadUntilAsync("\n\n", Timeout);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(refused.Status, Is.EqualTo(403), refused.BodyText);
            Assert.That(allowed.Status, Is.EqualTo(200), allowed.BodyText);
            Assert.That(frame, Is.EqualTo($"id: {allowed.BodyText}\ndata: y\n\n"), "the refused update never arrived");
        });
    }

    [Test]
    public async Task Publish_PublishTokenBesideAJwtKey_BothWork()
    {
        // Arrange
        await using var server = StartWithKey(o => o.PublishToken = "plain-secret");

        // Act
        var plain = await PublishAsync(server, "topic=a&data=1", "Bearer plain-secret");
        var jwt = await PublishAsync(server, "topic=a&data=2", "Bearer " + PublishAll);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(plain.Status, Is.EqualTo(200), "the --publish-token keeps working");
            Assert.That(jwt.Status, Is.EqualTo(200), "and a JWT works beside it");
        });
    }

    [TestCase("rs256")]
    [TestCase("es256")]
    public async Task Publish_PublicKeyFile_AcceptsItsAlgorithmOnly(string algorithm)
    {
        // Arrange
        string pem = algorithm == "rs256" ? Tokens.RsaPublicPem : Tokens.EcPublicPem;
        await using var server = TestServer.StartWithoutHeartbeats(o => o.JwtPublicKeyFile = Tokens.WritePem(pem));
        var claims = Tokens.Mercure(publish: ["*"]);
        string token = algorithm == "rs256" ? Tokens.Rs256(claims) : Tokens.Es256(claims);

        // Act
        var signed = await PublishAsync(server, "topic=a&data=1", "Bearer " + token);
        var hmac = await PublishAsync(server, "topic=a&data=2", "Bearer " + Tokens.Hs256(claims));
        var confused = await PublishAsync(server, "topic=a&data=3", "Bearer " + Tokens.Hs256WithPublicKey(claims));
        var unsigned = await PublishAsync(server, "topic=a&data=4", "Bearer " + Tokens.None(claims));

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(signed.Status, Is.EqualTo(200), "signed with the key's own algorithm");
            Assert.That(hmac.Status, Is.EqualTo(401), "an HS256 token where a public key is configured");
            Assert.That(confused.Status, Is.EqualTo(401), "HS256 keyed with the public key's PEM (key confusion)");
            Assert.That(unsigned.Status, Is.EqualTo(401), "alg: none");
        });
    }

    [Test]
    public async Task Subscribe_AnonymousAndAuthorised_OnlyTheAuthorisedGetsThePrivateUpdate()
    {
        // Arrange
        await using var server = StartWithKey();
        string reader = Tokens.Hs256(Tokens.Mercure(subscribe: ["https://example.com/users/1/{+rest}"]));
        using var anonymous = await OpenAsync(server, "/sse?topic=https://example.com/users/1/inbox");
        using var authorised = await OpenAsync(server, "/sse?topic=https://example.com/users/1/inbox", $"Authorization: Bearer {reader}\r\n");

        // Act
        var secret = await PublishAsync(server, "topic=https://example.com/users/1/inbox&data=secret&private=on", "Bearer " + PublishAll);
        var open = await PublishAsync(server, "topic=https://example.com/users/1/inbox&data=open", "Bearer " + PublishAll);
        string anonymousFrame = await anonymous.ReadUntilAsync("\n\n", Timeout);
        var authorisedFrames = await SseStream.ReadFramesAsync(authorised, 2, Timeout);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(anonymousFrame, Is.EqualTo($"id: {open.BodyText}\ndata: open\n\n"), "the anonymous stream's first event is the public one");
            Assert.That(authorisedFrames, Is.EqualTo(new[] { $"id: {secret.BodyText}\ndata: secret\n\n", $"id: {open.BodyText}\ndata: open\n\n" }));
        });
    }

    [TestCase("header")]
    [TestCase("cookie")]
    [TestCase("query")]
    public async Task Subscribe_TokenFromEachSource_ReceivesPrivateUpdates(string source)
    {
        // Arrange
        await using var server = StartWithKey();
        string token = Tokens.Hs256(Tokens.Mercure(subscribe: ["*"]));
        var (target, headers) = source switch
        {
            "header" => ("/sse?topic=t", $"Authorization: Bearer {token}\r\n"),
            "cookie" => ("/sse?topic=t", $"Cookie: theme=dark; mercureAuthorization={token}; other=1\r\n"),
            _ => ($"/sse?topic=t&authorization={token}", ""),
        };
        using var stream = await OpenAsync(server, target, headers);

        // Act
        var secret = await PublishAsync(server, "topic=t&data=secret&private=on", "Bearer " + PublishAll);
        string frame = await stream.ReadUntilAsync("\n\n", Timeout);

        // Assert
        Assert.That(frame, Is.EqualTo($"id: {secret.BodyText}\ndata: secret\n\n"));
    }

    [Test]
    public async Task Subscribe_TokenInQuery_NeverLogged()
    {
        // Arrange: the debug log writes every subscription.
        await using var server = StartWithKey();
        string token = Tokens.Hs256(Tokens.Mercure(subscribe: ["*"]));

        // Act
        using (await OpenAsync(server, $"/sse?topic=t&authorization={token}"))
        {
            await server.WaitForSubscribersAsync(1, Timeout);
        }

        // Assert
        string log = string.Join("\n", server.Logs.Entries.Select(e => e.Message));
        Assert.Multiple(() =>
        {
            Assert.That(log, Does.Contain("subscribed to t"), "the subscription was logged");
            Assert.That(log, Does.Not.Contain(token[..20]), "but not its token");
        });
    }

    [TestCase("Authorization: Bearer not.a.token\r\n", TestName = "Subscribe_GarbageToken_Answers401")]
    [TestCase("Cookie: mercureAuthorization=abc\r\n", TestName = "Subscribe_GarbageCookie_Answers401")]
    public async Task Subscribe_InvalidToken_Answers401NotAnonymous(string headers)
    {
        // Arrange
        await using var server = StartWithKey();

        // Act
        var response = await GetAsync(server, "/sse?topic=t", headers);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(response.Status, Is.EqualTo(401), response.RawHead);
            Assert.That(response.Headers.GetValueOrDefault("WWW-Authenticate"), Is.EqualTo("Bearer"));
        });
    }

    [Test]
    public async Task Subscribe_AnonymousRefused_Answers401UntilATokenComes()
    {
        // Arrange
        await using var server = StartWithKey(o => o.Anonymous = false);
        string token = Tokens.Hs256(Tokens.Mercure(subscribe: ["t"]));

        // Act
        var anonymous = await GetAsync(server, "/sse?topic=t", "");
        using var withToken = await OpenAsync(server, "/sse?topic=t", $"Authorization: Bearer {token}\r\n");

        // Assert
        Assert.That(anonymous.Status, Is.EqualTo(401), anonymous.RawHead);
    }

    [Test]
    public void Options_AnonymousFalseWithoutKey_AreRefused()
    {
        var options = new ServerOptions { Anonymous = false, Root = Path.GetTempPath() };

        var error = Assert.Throws<ArgumentException>(options.Validate);

        Assert.That(error!.Message, Does.Contain("anonymous"));
    }

    [TestCase("short", "at least 32 bytes")]
    public void Options_ShortSecret_AreRefused(string secret, string expected)
    {
        var options = new ServerOptions { JwtKey = secret, Root = Path.GetTempPath() };

        var error = Assert.Throws<ArgumentException>(options.Validate);

        Assert.That(error!.Message, Does.Contain(expected));
    }

    [TestCase("Sec-Fetch-Site: cross-site\r\nOrigin: http://evil.test\r\n", TestName = "Subscribe_CookieFromCrossSitePage_Answers403")]
    [TestCase("Origin: http://evil.test\r\n", TestName = "Subscribe_CookieWithForeignOrigin_Answers403")]
    [TestCase("Sec-Fetch-Site: same-site\r\nOrigin: http://sub.test\r\n", TestName = "Subscribe_CookieFromSameSiteOtherOrigin_Answers403")]
    public async Task Subscribe_CookieFromAForeignPage_IsRefused(string browserHeaders)
    {
        // Arrange: the exact headers Chromium sends with new EventSource(url, {withCredentials: true}) from that page.
        await using var server = StartWithKey();
        string token = Tokens.Hs256(Tokens.Mercure(subscribe: ["*"]));

        // Act
        var response = await GetAsync(server, "/sse?topic=t", $"Cookie: mercureAuthorization={token}\r\n{browserHeaders}");

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(response.Status, Is.EqualTo(403), response.RawHead);
            Assert.That(response.Headers.ContainsKey("Access-Control-Allow-Origin"), Is.False, "no CORS grant to read the refusal either");
        });
    }

    [Test]
    public async Task Subscribe_CookieFromAnAllowedOrigin_GetsCorsWithCredentials()
    {
        // Arrange
        await using var server = StartWithKey(o => o.CorsOrigins = ["http://app.test"]);
        string token = Tokens.Hs256(Tokens.Mercure(subscribe: ["*"]));

        // Act
        var (client, head) = await OpenWithHeadAsync(server, "/sse?topic=t",
            $"Cookie: mercureAuthorization={token}\r\nSec-Fetch-Site: cross-site\r\nOrigin: http://app.test\r\n");
        using var stream = client;

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(head.Headers.GetValueOrDefault("Access-Control-Allow-Origin"), Is.EqualTo("http://app.test"), head.RawHead);
            Assert.That(head.Headers.GetValueOrDefault("Access-Control-Allow-Credentials"), Is.EqualTo("true"));
            Assert.That(head.Headers.GetValueOrDefault("Vary"), Is.EqualTo("Origin"));
        });
    }

    [Test]
    [Category("Timing")]
    public async Task Subscribe_TokenExpires_StreamEnds()
    {
        // Arrange: a token valid for two more seconds.
        await using var server = StartWithKey();
        string token = Tokens.Hs256(Tokens.Mercure(subscribe: ["*"]), expires: DateTime.UtcNow.AddSeconds(2));
        using var stream = await OpenAsync(server, "/sse?topic=t", $"Authorization: Bearer {token}\r\n");
        await server.WaitForSubscribersAsync(1, Timeout);

        // Act
        var end = await stream.ReadEndAsync(TimeSpan.FromSeconds(15));
        bool left = await Polling.UntilAsync(() => server.SubscriberCount == 0, Timeout);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(end.End, Is.EqualTo(ReadEnd.Eof), "the stream ended cleanly once its token expired");
            Assert.That(left, Is.True, "and left the hub");
        });
    }

    [Test]
    public async Task Subscribe_ExpiredToken_Answers401()
    {
        // Arrange: a minute past exp, beyond the clock skew; a token within the skew is still taken.
        await using var server = StartWithKey();
        string expired = Tokens.Hs256(Tokens.Mercure(subscribe: ["*"]), expires: DateTime.UtcNow.AddMinutes(-1));
        string early = Tokens.Hs256(Tokens.Mercure(subscribe: ["*"]), notBefore: DateTime.UtcNow.AddMinutes(1));

        // Act
        var expiredResponse = await GetAsync(server, "/sse?topic=t", $"Authorization: Bearer {expired}\r\n");
        var earlyResponse = await GetAsync(server, "/sse?topic=t", $"Authorization: Bearer {early}\r\n");

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(expiredResponse.Status, Is.EqualTo(401), "past exp");
            Assert.That(earlyResponse.Status, Is.EqualTo(401), "before nbf");
        });
    }

    internal static TestServer StartWithKey(Action<ServerOptions>? configure = null) =>
        TestServer.StartWithoutHeartbeats(o =>
        {
            o.JwtKey = Tokens.Secret;
            configure?.Invoke(o);
        });

    internal static async Task<HttpResponse> PublishAsync(TestServer server, string body, string? authorization, string path = "/publish")
    {
        using var client = await server.ConnectAsync();
        byte[] content = Encoding.UTF8.GetBytes(body);
        string auth = authorization is null ? "" : $"Authorization: {authorization}\r\n";
        await client.SendAsync($"POST {path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/x-www-form-urlencoded\r\n{auth}Content-Length: {content.Length.ToString(CultureInfo.InvariantCulture)}\r\n\r\n{body}");
        return await client.ReadResponseAsync(timeout: Timeout);
    }

    internal static async Task<HttpResponse> GetAsync(TestServer server, string target, string headers)
    {
        using var client = await server.ConnectAsync();
        await client.SendAsync($"GET {target} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n{headers}\r\n");
        return await client.ReadResponseAsync(expectBody: true, Timeout);
    }

    /// <summary>Opens a stream with extra header lines, checks the 200, and reads past its retry frame.</summary>
    internal static async Task<RawClient> OpenAsync(TestServer server, string target, string headers = "") =>
        (await OpenWithHeadAsync(server, target, headers)).Client;

    internal static async Task<(RawClient Client, HttpResponse Head)> OpenWithHeadAsync(TestServer server, string target, string headers)
    {
        int before = server.SubscriberCount;
        var client = await server.ConnectAsync();
        try
        {
            await client.SendAsync($"GET {target} HTTP/1.1\r\nHost: test\r\n{headers}\r\n");
            var head = await client.ReadResponseAsync(expectBody: false, Timeout);
            Assert.That(head.Status, Is.EqualTo(200), $"GET {target}: {Describe.Escape(head.RawHead)}");
            Assert.That(await client.ReadUntilAsync("\n\n", Timeout), Is.EqualTo(SseStream.RetryFrame));
            await server.WaitForSubscribersAsync(before + 1, Timeout);
            return (client, head);
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }
}
