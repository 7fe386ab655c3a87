using System.Globalization;
using System.Text;

namespace RawSse.Tests;

/// <summary>
/// The request bodies real clients send: forms as browsers and curl write them, chunked bodies (fetch with a stream,
/// Go's http.Client), <c>Expect: 100-continue</c> (curl, for larger bodies), bodies that stop arriving, refusals
/// decided before a byte of the body is read, events too large for a subscriber's queue, and pipelined answers that
/// nobody reads.
/// </summary>
[TestFixture]
public sealed class RequestBodyTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private static string ChunkedPublish(string chunks, string extra = "") =>
        "POST /publish HTTP/1.1\r\nHost: test\r\nContent-Type: application/x-www-form-urlencoded\r\n" +
        $"Transfer-Encoding: chunked\r\n{extra}\r\n{chunks}";

    [TestCase("topic=chat&type=message&data=hello, world", "hello, world", TestName = "Publish_RawSpaceInValue_Accepted")]
    [TestCase("topic=chat&data=h\u00e9llo w\u00f6rld \u2713", "h\u00e9llo w\u00f6rld \u2713", TestName = "Publish_RawUtf8InValue_Accepted")]
    [TestCase("topic=chat&data=100%+sure", "100% sure", TestName = "Publish_PercentStartingNoEscape_KeptAsIs")]
    [TestCase("topic=chat&data=a%20b+c%2Bd", "a b c+d", TestName = "Publish_EscapesAndPlus_Decoded")]
    public async Task Publish_FormAsBrowsersWriteIt_PublishedWithThatData(string body, string expected)
    {
        // Arrange
        await using var server = TestServer.StartWithoutHeartbeats();
        using var stream = await SseStream.OpenStreamAsync(server, "/sse?topic=chat", Timeout, waitForSubscriber: true);
        using var client = await server.ConnectAsync();

        // Act
        var response = await Publishing.SendAsync(client, body, Timeout);
        string frame = await stream.ReadUntilAsync("\n\n", Timeout);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(response.Status, Is.EqualTo(200), Describe.Response(response));
            Assert.That(frame, Does.EndWith($"data: {expected}\n\n"), Describe.Escape(frame));
        });
    }

    [TestCase("topic=chat&data=%FF%FE", "field 'data'")]
    [TestCase("topic=%C3&data=x", "field 'topic'")]
    [TestCase("%FF=1&topic=chat", "field 1")]
    public async Task Publish_FieldNotUtf8OnceDecoded_Returns400NamingIt(string body, string named)
    {
        // Arrange
        await using var server = TestServer.StartWithoutHeartbeats();
        using var client = await server.ConnectAsync();

        // Act
        var response = await Publishing.SendAsync(client, body, Timeout);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(response.Status, Is.EqualTo(400), Describe.Response(response));
            Assert.That(response.BodyText, Does.Contain(named).And.Contain("UTF-8"), Describe.Response(response));
        });
    }

    [TestCase(false, TestName = "Publish_ChunkedBodyWhole_Published")]
    [TestCase(true, TestName = "Publish_ChunkedBodyByteAtATime_Published")]
    public async Task Publish_ChunkedBody_PublishedAndConnectionStaysInStep(bool byteAtATime)
    {
        // Arrange: three chunks, one with an extension, then a trailer; then a second request on the connection.
        await using var server = TestServer.StartWithoutHeartbeats();
        using var stream = await SseStream.OpenStreamAsync(server, "/sse?topic=chat", Timeout, waitForSubscriber: true);
        using var client = await server.ConnectAsync();
        string request = ChunkedPublish("6\r\ntopic=\r\n5;name=value\r\nchat&\r\nA\r\ndata=hello\r\n0\r\nX-Trailer: yes\r\n\r\n")
            + "GET /metrics HTTP/1.1\r\nHost: test\r\n\r\n";

        // Act
        if (byteAtATime)
        {
            await client.SendByteByByteAsync(request);
        }
        else
        {
            await client.SendAsync(request);
        }

        var published = await client.ReadResponseAsync(timeout: Timeout);
        var next = await client.ReadResponseAsync(timeout: Timeout);
        string frame = await stream.ReadUntilAsync("\n\n", Timeout);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(published.Status, Is.EqualTo(200), Describe.Response(published));
            Assert.That(frame, Does.EndWith("data: hello\n\n"), Describe.Escape(frame));
            Assert.That(next.Status, Is.EqualTo(200), $"the request after the chunked body parses: {Describe.Response(next)}");
        });
    }

    [TestCase("fffffffffffffffff\r\n", TestName = "Publish_ChunkSizeOverflow_Returns400")]
    [TestCase("zz\r\n", TestName = "Publish_ChunkSizeNotHex_Returns400")]
    [TestCase("5\r\nhelloXX0\r\n\r\n", TestName = "Publish_ChunkDataWithoutCrlf_Returns400")]
    [TestCase("5\nhello\r\n0\r\n\r\n", TestName = "Publish_ChunkLineBareLf_Returns400")]
    [TestCase("5 garbage\r\nhello\r\n0\r\n\r\n", TestName = "Publish_ChunkSizeTrailingGarbage_Returns400")]
    public async Task Publish_MalformedChunkedBody_Returns400AndCloses(string chunks)
    {
        // Arrange
        await using var server = TestServer.StartWithoutHeartbeats();
        using var client = await server.ConnectAsync();

        // Act
        await client.SendAsync(ChunkedPublish(chunks));
        var response = await client.ReadResponseAsync(timeout: Timeout);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(response.Status, Is.EqualTo(400), Describe.Response(response));
            Assert.That(response.Headers.GetValueOrDefault("Connection"), Is.EqualTo("close"), Describe.Response(response));
        });
    }

    [Test]
    public async Task Publish_ChunkExtensionOver1KiB_Returns400()
    {
        // Arrange
        await using var server = TestServer.StartWithoutHeartbeats();
        using var client = await server.ConnectAsync();

        // Act
        await client.SendAsync(ChunkedPublish($"5;{new string('e', 2000)}\r\nhello\r\n0\r\n\r\n"));
        var response = await client.ReadResponseAsync(timeout: Timeout);

        // Assert
        Assert.That(response.Status, Is.EqualTo(400), Describe.Response(response));
    }

    [Test]
    public async Task Publish_TrailersOver4KiB_Returns400()
    {
        // Arrange
        await using var server = TestServer.StartWithoutHeartbeats();
        using var client = await server.ConnectAsync();
        var trailers = string.Concat(Enumerable.Range(0, 100).Select(i => $"X-T{i}: {new string('v', 60)}\r\n"));

        // Act
        await client.SendAsync(ChunkedPublish($"0\r\n{trailers}\r\n"));
        var response = await client.ReadResponseAsync(timeout: Timeout);

        // Assert
        Assert.That(response.Status, Is.EqualTo(400), Describe.Response(response));
    }

    [Test]
    public async Task Publish_ChunkedBodyOverMaxBodyBytes_Returns413AsSoonAsAChunkSaysSo()
    {
        // Arrange: the chunk announces more than the limit; its data never has to arrive.
        await using var server = TestServer.StartWithoutHeartbeats(o => o.MaxPublishBodyBytes = 1024);
        using var client = await server.ConnectAsync();

        // Act
        await client.SendAsync(ChunkedPublish("10000\r\n"));
        var response = await client.ReadResponseAsync(timeout: Timeout);

        // Assert
        Assert.That(response.Status, Is.EqualTo(413), Describe.Response(response));
    }

    [TestCase("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", 400, TestName = "Request_ChunkedAndContentLength_Returns400")]
    [TestCase("Transfer-Encoding: gzip, chunked\r\n", 501, TestName = "Request_CodingBeforeChunked_Returns501")]
    [TestCase("Transfer-Encoding: chunked, gzip\r\n", 400, TestName = "Request_ChunkedNotLast_Returns400")]
    [TestCase("Expect: something-else\r\n", 417, TestName = "Request_UnknownExpectation_Returns417")]
    public async Task Request_FramingItCannotTrust_RefusedFromTheHead(string headers, int status)
    {
        // Arrange
        await using var server = TestServer.StartWithoutHeartbeats();
        using var client = await server.ConnectAsync();

        // Act
        await client.SendAsync($"POST /publish HTTP/1.1\r\nHost: test\r\n{headers}\r\n");
        var response = await client.ReadResponseAsync(timeout: Timeout);

        // Assert
        Assert.That(response.Status, Is.EqualTo(status), Describe.Response(response));
    }

    [Test]
    public async Task Publish_Expect100Continue_InterimAnswerBeforeTheBodyThenTheId()
    {
        // Arrange: curl's head for a larger body; it waits for 100 Continue before sending the body.
        await using var server = TestServer.StartWithoutHeartbeats();
        using var client = await server.ConnectAsync();
        const string Body = "topic=chat&data=big";

        // Act
        await client.SendAsync("POST /publish HTTP/1.1\r\nHost: test\r\nContent-Type: application/x-www-form-urlencoded\r\n" +
            $"Content-Length: {Body.Length}\r\nExpect: 100-continue\r\n\r\n");
        string interim = await client.ReadUntilAsync("\r\n\r\n", Timeout);
        await client.SendAsync(Body);
        var response = await client.ReadResponseAsync(timeout: Timeout);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(interim, Is.EqualTo("HTTP/1.1 100 Continue\r\n\r\n"));
            Assert.That(response.Status, Is.EqualTo(200), Describe.Response(response));
        });
    }

    [Test]
    public async Task Publish_Expect100ContinueWithWrongToken_FinalRefusalAtOnceNoInterim()
    {
        // Arrange
        await using var server = TestServer.StartWithoutHeartbeats(o => o.PublishToken = "right");
        using var client = await server.ConnectAsync();

        // Act
        await client.SendAsync("POST /publish HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer wrong\r\n" +
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\nExpect: 100-continue\r\n\r\n");
        var response = await client.ReadResponseAsync(timeout: Timeout);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(response.Status, Is.EqualTo(401), Describe.Response(response));
            Assert.That(response.StatusLine, Does.Not.Contain("100"), "no interim answer for a body that will not be read");
        });
    }

    [TestCase("Authorization: Bearer wrong\r\n", 401, TestName = "Publish_WrongTokenLargeDeclaredBody_Refused401BeforeAnyBodyByte")]
    [TestCase("", 401, TestName = "Publish_NoTokenLargeDeclaredBody_Refused401BeforeAnyBodyByte")]
    public async Task Publish_Unauthorised_AnsweredFromTheHeadAndClosed(string authorization, int status)
    {
        // Arrange: a megabyte is declared and none of it sent; the answer must not wait for it.
        await using var server = TestServer.StartWithoutHeartbeats(o => o.PublishToken = "right");
        using var client = await server.ConnectAsync();

        // Act
        await client.SendAsync($"POST /publish HTTP/1.1\r\nHost: test\r\n{authorization}Content-Type: application/x-www-form-urlencoded\r\n" +
            "Content-Length: 1000000\r\n\r\n");
        var response = await client.ReadResponseAsync(timeout: Timeout);
        bool closed = await client.WaitForCloseAsync(Timeout);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(response.Status, Is.EqualTo(status), Describe.Response(response));
            Assert.That(response.Headers.GetValueOrDefault("Connection"), Is.EqualTo("close"), "no more guesses on this connection");
            Assert.That(closed, Is.True, "closed");
        });
    }

    [Test]
    public async Task Publish_BodyStopsArriving_Returns408()
    {
        // Arrange
        await using var server = TestServer.StartWithoutHeartbeats(o => o.RequestTimeout = TimeSpan.FromMilliseconds(500));
        using var client = await server.ConnectAsync();

        // Act: half of the declared body, then silence.
        await client.SendAsync("POST /publish HTTP/1.1\r\nHost: test\r\nContent-Type: application/x-www-form-urlencoded\r\n" +
            "Content-Length: 40\r\n\r\ntopic=chat&data=");
        var response = await client.ReadResponseAsync(timeout: Timeout);

        // Assert
        Assert.That(response.Status, Is.EqualTo(408), Describe.Response(response));
    }

    [Test]
    public async Task Publish_EventLargerThanQueueOnceFramed_Returns413AndNoSubscriberIsCut()
    {
        // Arrange: 600 KB of escaped CRs (200,000 of them) frame to 1.4 MB, over the 1 MiB queue limit.
        await using var server = TestServer.StartWithoutHeartbeats();
        using var stream = await SseStream.OpenStreamAsync(server, "/sse?topic=chat", Timeout, waitForSubscriber: true);
        using var client = await server.ConnectAsync();
        string body = "topic=chat&data=" + string.Concat(Enumerable.Repeat("%0D", 200_000));

        // Act
        var refused = await Publishing.SendAsync(client, body, Timeout);
        var small = await Publishing.SendAsync(client, "topic=chat&data=fine", Timeout);
        string frame = await stream.ReadUntilAsync("data: fine\n\n", Timeout);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(refused.Status, Is.EqualTo(413), Describe.Response(refused));
            Assert.That(small.Status, Is.EqualTo(200), Describe.Response(small));
            Assert.That(frame, Does.EndWith("data: fine\n\n"), "the subscriber was not cut");
            Assert.That(server.Hub.SubscriberCount, Is.EqualTo(1));
        });
    }

    [Test]
    public async Task PipelinedRequests_ClientNeverReads_ServerHoldsAboutSixtyFourKiBOfAnswers()
    {
        // Arrange: a 16 KB file and 400 pipelined GETs for it (6.4 MB of answers), from a client with a small window
        // that reads nothing until the end.
        const int Requests = 400;
        await using var server = TestServer.StartWithoutHeartbeats();
        File.WriteAllBytes(Path.Combine(server.Root, "f16k.bin"), new byte[16_000]);
        using var client = await RawClient.ConnectAsync(server.EndPoint, receiveBufferSize: 4096);
        var request = Encoding.ASCII.GetBytes("GET /f16k.bin HTTP/1.1\r\nHost: test\r\n\r\n");
        long before = Heap.SettledBytes();

        // Act
        await client.SendAsync(Enumerable.Repeat(request, Requests).SelectMany(r => r).ToArray());
        bool grew = await Polling.UntilAsync(() => GC.GetTotalMemory(forceFullCollection: false) - before > 3 * 1024 * 1024, TimeSpan.FromSeconds(2));
        long held = Heap.SettledBytes() - before;
        var answers = new List<HttpResponse>();
        for (int i = 0; i < Requests; i++)
        {
            answers.Add(await client.ReadResponseAsync(timeout: Timeout));
        }

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(grew, Is.False, "the answers did not pile up in the server while the client read nothing");
            Assert.That(held, Is.LessThan(1024 * 1024), $"the server held {held:N0} bytes for a client that reads nothing");
            Assert.That(answers.Count(a => a.Status == 200 && a.Body.Length == 16_000), Is.EqualTo(Requests), "once the client reads, every answer arrives");
        });
    }
}
