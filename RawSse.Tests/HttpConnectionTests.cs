using System.Text;

namespace RawSse.Tests;

/// <summary>
/// Socket-level HTTP/1.x behaviour of a connection: keep-alive, pipelining, split input, closes, and rejections.
/// Every read has a deadline; a failed expectation shows the response head that did arrive.
/// </summary>
public sealed class HttpConnectionTests
{
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(5);

    private const string IndexBody = TestServer.IndexHtml;

    [Test]
    public async Task KeepAlive_ThreeRequestsOnOneConnection_EachGets200WithItsBody()
    {
        // Arrange
        await using var server = TestServer.Start();
        WriteFiles(server, ("a.txt", "first"), ("b.txt", "second"), ("c.txt", "third"));
        using var client = await server.ConnectAsync();

        foreach (var (path, body) in new[] { ("/a.txt", "first"), ("/b.txt", "second"), ("/c.txt", "third") })
        {
            // Act
            await client.SendAsync($"GET {path} HTTP/1.1\r\nHost: test\r\n\r\n");
            var response = await client.ReadResponseAsync(timeout: ReadTimeout);

            // Assert
            AssertStatus(response, 200, path);
            Assert.That(response.BodyText, Is.EqualTo(body), $"body of {path}; head was:\n{response}");
            Assert.That(response.Headers.ContainsKey("Connection"), Is.False, $"an HTTP/1.1 keep-alive response needs no Connection header; head was:\n{response}");
        }

        AssertNoErrors(server);
    }

    [Test]
    public async Task Pipelining_ThreeGetsInOneWrite_ThreeCompleteResponsesInOrder()
    {
        // Arrange
        await using var server = TestServer.Start();
        WriteFiles(server, ("a.txt", "first"), ("b.txt", "second"), ("c.txt", "third"));
        using var client = await server.ConnectAsync();
        const string requests =
            "GET /a.txt HTTP/1.1\r\nHost: test\r\n\r\n" +
            "GET /b.txt HTTP/1.1\r\nHost: test\r\n\r\n" +
            "GET /c.txt HTTP/1.1\r\nHost: test\r\n\r\n";

        // Act
        await client.SendAsync(requests);
        var responses = new List<HttpResponse>();
        for (int i = 0; i < 3; i++)
        {
            responses.Add(await client.ReadResponseAsync(timeout: ReadTimeout));
        }

        // Assert
        Assert.That(responses.Select(r => r.Status), Is.EqualTo(new[] { 200, 200, 200 }), "statuses in order");
        Assert.That(responses.Select(r => r.BodyText), Is.EqualTo(new[] { "first", "second", "third" }), "bodies in request order");
        foreach (var response in responses)
        {
            Assert.That(response.Body, Has.Length.EqualTo(int.Parse(response.Headers["Content-Length"], System.Globalization.CultureInfo.InvariantCulture)),
                $"each response is complete; head was:\n{response}");
        }

        AssertNoErrors(server);
    }

    [Test]
    public async Task Pipelining_SecondHeadIncompleteInSameWrite_FirstAnsweredBeforeSecondCompletes()
    {
        // Arrange: the first response must be flushed while the server waits for the rest of the second head.
        await using var server = TestServer.Start();
        WriteFiles(server, ("a.txt", "first"), ("b.txt", "second"));
        using var client = await server.ConnectAsync();

        // Act
        await client.SendAsync("GET /a.txt HTTP/1.1\r\nHost: test\r\n\r\nGET /b.txt HTTP/1.1\r\nHo");
        var first = await client.ReadResponseAsync(timeout: ReadTimeout);
        await client.SendAsync("st: test\r\n\r\n");
        var second = await client.ReadResponseAsync(timeout: ReadTimeout);

        // Assert
        AssertStatus(first, 200, "GET /a.txt");
        Assert.That(first.BodyText, Is.EqualTo("first"));
        AssertStatus(second, 200, "GET /b.txt completed by a second write");
        Assert.That(second.BodyText, Is.EqualTo("second"));
        AssertNoErrors(server);
    }

    [Test]
    public async Task RequestHead_SentOneByteAtATime_Gets200()
    {
        // Arrange
        await using var server = TestServer.Start();
        using var client = await server.ConnectAsync();

        // Act
        await client.SendByteByByteAsync("GET / HTTP/1.1\r\nHost: test\r\nUser-Agent: slow/1.0\r\nAccept: */*\r\n\r\n");
        var response = await client.ReadResponseAsync(timeout: ReadTimeout);

        // Assert
        AssertStatus(response, 200, "byte-by-byte GET /");
        Assert.That(response.BodyText, Is.EqualTo(IndexBody));
        AssertNoErrors(server);
    }

    [Test]
    public async Task Http10_ConnectionKeepAlive_StaysOpenAndSaysKeepAlive()
    {
        // Arrange
        await using var server = TestServer.Start();
        using var client = await server.ConnectAsync();

        // Act
        await client.SendAsync("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        var first = await client.ReadResponseAsync(timeout: ReadTimeout);
        await client.SendAsync("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        var second = await client.ReadResponseAsync(timeout: ReadTimeout);

        // Assert
        AssertStatus(first, 200, "first HTTP/1.0 keep-alive GET");
        Assert.That(first.Headers.GetValueOrDefault("Connection"), Is.EqualTo("keep-alive"), $"head was:\n{first}");
        Assert.That(first.BodyText, Is.EqualTo(IndexBody));
        AssertStatus(second, 200, "second request on the same connection");
        Assert.That(second.Headers.GetValueOrDefault("Connection"), Is.EqualTo("keep-alive"), $"head was:\n{second}");
        AssertNoErrors(server);
    }

    [Test]
    public async Task GetWithSmallBody_FollowedByPipelinedGet_BodyDrainedAndNotParsedAsRequest()
    {
        // Arrange: if "hello" were parsed as the start of the next request line, the second answer would be a 400.
        await using var server = TestServer.Start();
        using var client = await server.ConnectAsync();
        const string requests =
            "GET / HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\n\r\nhello" +
            "GET / HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n";

        // Act
        await client.SendAsync(requests);
        var first = await client.ReadResponseAsync(timeout: ReadTimeout);
        var second = await client.ReadResponseAsync(timeout: ReadTimeout);
        var rest = await client.ReadToEndAsync(ReadTimeout);

        // Assert
        AssertStatus(first, 200, "GET with a 5-byte body");
        Assert.That(first.BodyText, Is.EqualTo(IndexBody));
        AssertStatus(second, 200, "the pipelined GET after the body");
        Assert.That(second.BodyText, Is.EqualTo(IndexBody));
        Assert.That(Encoding.Latin1.GetString(rest), Is.Empty, "exactly two responses, nothing after the second");
        AssertNoErrors(server);
    }

    // One exchange after which the server must close: the exact status, and the body and Connection header where
    // they are pinned. Each case keeps the name it had as a test of its own.
    private static IEnumerable<TestCaseData> OneExchangeThenClose()
    {
        static TestCaseData Case(string name, string request, int status, string? body = null, string? connection = null, int maxRequestLineBytes = 0) =>
            new TestCaseData(request, status, body, connection, maxRequestLineBytes).SetName(name);

        yield return Case("Http10_WithoutKeepAlive_ResponseThenServerCloses", "GET / HTTP/1.0\r\n\r\n", 200, IndexBody, "close");
        yield return Case("Http11_ConnectionClose_ResponseSaysCloseThenServerCloses", "GET / HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n", 200, IndexBody, "close");
        yield return Case("MalformedHead_Gets400ThenServerCloses(bare LF)", "GET / HTTP/1.1\nHost: test\n\n", 400, connection: "close");
        yield return Case("MalformedHead_Gets400ThenServerCloses(space before colon)", "GET / HTTP/1.1\r\nHost : test\r\n\r\n", 400, connection: "close");
        yield return Case("MalformedHead_Gets400ThenServerCloses(missing Host)", "GET / HTTP/1.1\r\n\r\n", 400, connection: "close");
        yield return Case("MalformedHead_Gets400ThenServerCloses(fragment in target)", "GET /a#b HTTP/1.1\r\nHost: test\r\n\r\n", 400, connection: "close");
        yield return Case("UnknownMethod_Gets501ThenServerCloses", "BREW / HTTP/1.1\r\nHost: test\r\n\r\n", 501);
        yield return Case("Http20RequestLine_Gets505ThenServerCloses", "GET / HTTP/2.0\r\nHost: test\r\n\r\n", 505);

        // The server must not wait for an LF that would only make the line longer still.
        yield return Case("RequestLineOverLimit_NoLineEndYet_Gets414ThenServerCloses", "GET /" + new string('a', 100), 414, maxRequestLineBytes: 64);
    }

    [TestCaseSource(nameof(OneExchangeThenClose))]
    public async Task Request_OneExchange_StatusThenServerCloses(string request, int status, string? body, string? connection, int maxRequestLineBytes)
    {
        // Arrange
        await using var server = TestServer.Start(o =>
        {
            if (maxRequestLineBytes > 0)
            {
                o.MaxRequestLineBytes = maxRequestLineBytes;
            }
        });
        using var client = await server.ConnectAsync();

        // Act
        await client.SendAsync(request);
        var response = await client.ReadResponseAsync(timeout: ReadTimeout);
        bool closed = await client.WaitForCloseAsync(ReadTimeout);

        // Assert
        AssertStatus(response, status, Describe.Escape(request));
        if (body is not null)
        {
            Assert.That(response.BodyText, Is.EqualTo(body), $"body; head was:\n{response}");
        }

        if (connection is not null)
        {
            Assert.That(response.Headers.GetValueOrDefault("Connection"), Is.EqualTo(connection), $"head was:\n{response}");
        }

        Assert.That(closed, Is.True, $"the server should close after the {status}");
        AssertNoErrors(server);
    }

    [Test]
    public async Task Post_Gets405WithAllowAndConnectionStaysOpen()
    {
        // Arrange
        await using var server = TestServer.Start();
        using var client = await server.ConnectAsync();

        // Act
        await client.SendAsync("POST / HTTP/1.1\r\nHost: test\r\nContent-Length: 0\r\n\r\n");
        var post = await client.ReadResponseAsync(timeout: ReadTimeout);
        await client.SendAsync("GET / HTTP/1.1\r\nHost: test\r\n\r\n");
        var get = await client.ReadResponseAsync(timeout: ReadTimeout);

        // Assert
        AssertStatus(post, 405, "POST /");
        Assert.That(post.Headers.GetValueOrDefault("Allow"), Is.EqualTo("GET, HEAD"), $"head was:\n{post}");
        AssertStatus(get, 200, "GET / on the same connection after the 405");
        AssertNoErrors(server);
    }

    [Test]
    public async Task Server_AfterManyBadRequests_StillServesAndConnectionCountReturnsToZero()
    {
        // Arrange
        await using var server = TestServer.Start();
        var bad = new (string Request, int Status)[]
        {
            ("GET / HTTP/1.1\nHost: test\n\n", 400),
            ("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
            ("POST / HTTP/1.1\r\nHost: test\r\nContent-Length: -1\r\n\r\n", 400),
            ("POST / HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501),
            ("BREW / HTTP/1.1\r\nHost: test\r\n\r\n", 501),
            ("GET / HTTP/2.0\r\nHost: test\r\n\r\n", 505),
            ("GET / HTTP/1.1\r\nHost: test\r\nX-A: a\0b\r\n\r\n", 400),
            ("OPTIONS * HTTP/1.1\r\nHost: test\r\n\r\n", 400),
        };

        foreach (var (request, status) in bad)
        {
            using var badClient = await server.ConnectAsync();
            await badClient.SendAsync(Encoding.Latin1.GetBytes(request));
            var rejected = await badClient.ReadResponseAsync(timeout: ReadTimeout);
            AssertStatus(rejected, status, Describe.Escape(request));
            Assert.That(await badClient.WaitForCloseAsync(ReadTimeout), Is.True, $"close after {status}");
        }

        // Act
        HttpResponse response;
        using (var client = await server.ConnectAsync())
        {
            await client.SendAsync("GET / HTTP/1.1\r\nHost: test\r\n\r\n");
            response = await client.ReadResponseAsync(timeout: ReadTimeout);
        }

        bool drained = await Polling.UntilAsync(() => server.Server.ConnectionCount == 0, TimeSpan.FromSeconds(5));

        // Assert
        AssertStatus(response, 200, "GET / after the bad requests");
        Assert.That(response.BodyText, Is.EqualTo(IndexBody));
        Assert.That(drained, Is.True, $"ConnectionCount should return to 0 once clients close; it is {server.Server.ConnectionCount}");
        AssertNoErrors(server);
    }

    private static void WriteFiles(TestServer server, params (string Name, string Content)[] files)
    {
        foreach (var (name, content) in files)
        {
            File.WriteAllText(Path.Combine(server.Root, name), content);
        }
    }

    private static void AssertStatus(HttpResponse response, int expected, string what) =>
        Assert.That(response.Status, Is.EqualTo(expected), $"{what}: expected {expected}, got '{response.StatusLine}'; head was:\n{response}");

    private static void AssertNoErrors(TestServer server) =>
        Assert.That(server.Logs.Errors, Is.Empty, "no log entry at Error level");
}
