using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using RawSse.Sse;

namespace RawSse.Tests;

/// <summary>
/// The server's limits on a real socket: request-head size and field-count limits (with the defaults pinned),
/// the request and keep-alive timeouts (slowloris, silent and idle connections) and their blindness to live
/// streams, the connection and per-address stream caps, strict parsing with the exact status for each
/// malformed head, publish bodies over the limit, clients that never read, and the counting and rate-limited
/// logging of every rejection. Each test ends with no Error-level log entry and no connection left open.
/// </summary>
[TestFixture]
public sealed class LimitsTests
{
    private const int DefaultMaxRequestLineBytes = 8 * 1024;
    private const int DefaultMaxRequestHeadersBytes = 32 * 1024;
    private const int DefaultMaxRequestHeaderCount = 100;
    private const string IndexBody = TestServer.IndexHtml;

    private static readonly TimeSpan IoTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan SettleTimeout = TimeSpan.FromSeconds(5);
    private static readonly IPAddress SecondLoopback = IPAddress.Parse("127.0.0.2");

    private readonly List<RawClient> _peers = [];

    [TearDown]
    public void ClosePeers()
    {
        foreach (var peer in _peers)
        {
            peer.Dispose();
        }

        _peers.Clear();
    }

    // ---- request-head size limits ---------------------------------------------------------------------

    [Test]
    public async Task RequestLine_ExactlyDefault8KiBWithCrlf_Served()
    {
        // Arrange
        await using var server = TestServer.Start();
        var peer = await ConnectAsync(server);
        string line = RequestLineOfExactly(DefaultMaxRequestLineBytes);

        // Act
        await peer.SendAsync(line + "Host: x\r\n\r\n");
        var response = await peer.ReadResponseAsync(timeout: IoTimeout);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(line, Has.Length.EqualTo(DefaultMaxRequestLineBytes), "test setup: the request line with its CRLF");
            Assert.That(response.Status, Is.EqualTo(200), Describe.Response(response));
            Assert.That(response.BodyText, Is.EqualTo(IndexBody));
        });
        await AssertCleanAfterCloseAsync(server);
    }

    [Test]
    public async Task HeaderSection_ExactlyDefault32KiB_Served()
    {
        // Arrange
        await using var server = TestServer.Start();
        var peer = await ConnectAsync(server);
        string headers = HeaderSectionOfExactly(DefaultMaxRequestHeadersBytes);

        // Act
        await peer.SendAsync("GET / HTTP/1.1\r\n" + headers);
        var response = await peer.ReadResponseAsync(timeout: IoTimeout);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(headers, Has.Length.EqualTo(DefaultMaxRequestHeadersBytes), "test setup: field lines plus the blank line");
            Assert.That(response.Status, Is.EqualTo(200), Describe.Response(response));
        });
        await AssertCleanAfterCloseAsync(server);
    }

    [Test]
    public async Task HeaderCount_Default100Fields_Served()
    {
        // Arrange
        await using var server = TestServer.Start();
        var peer = await ConnectAsync(server);

        // Act
        await peer.SendAsync("GET / HTTP/1.1\r\n" + HeaderFields(DefaultMaxRequestHeaderCount) + "\r\n");
        var response = await peer.ReadResponseAsync(timeout: IoTimeout);

        // Assert
        Assert.That(response.Status, Is.EqualTo(200), Describe.Response(response));
        await AssertCleanAfterCloseAsync(server);
    }

    // A head over one of the size or count limits: the exact status and reason, Connection: close, then a clean close;
    // where the limit is the default, the rejection is counted too. Each case keeps the name it had as a test of its own.
    private static IEnumerable<TestCaseData> OverLimitHeads()
    {
        const string TooLarge = "Request Header Fields Too Large";
        static TestCaseData Case(string name, string request, int status, string reason, int maxLine = 0, int maxHeaders = 0, int maxCount = 0, bool counted = false) =>
            new TestCaseData(request, status, reason, maxLine, maxHeaders, maxCount, counted).SetName(name);

        yield return Case("RequestLine_OneByteOverDefault8KiB_414ThenClose", RequestLineOfExactly(DefaultMaxRequestLineBytes + 1) + "Host: x\r\n\r\n", 414, "URI Too Long", counted: true);

        // 100 bytes of request line and no LF: the limit must be enforced on what is buffered.
        yield return Case("RequestLine_OverSmallLimitAndNoLineEndYet_414WithoutWaitingForTheLineEnd", "GET /" + new string('a', 95), 414, "URI Too Long", maxLine: 64);
        yield return Case("HeaderSection_OneByteOverDefault32KiB_431ThenClose", "GET / HTTP/1.1\r\n" + HeaderSectionOfExactly(DefaultMaxRequestHeadersBytes + 1), 431, TooLarge, counted: true);
        yield return Case("HeaderSection_OverSmallLimitAndNoLineEndYet_431WithoutWaitingForTheLineEnd", "GET / HTTP/1.1\r\nHost: x\r\nX-Long: " + new string('a', 300), 431, TooLarge, maxHeaders: 256);
        yield return Case("HeaderCount_Default101Fields_431ThenClose", "GET / HTTP/1.1\r\n" + HeaderFields(DefaultMaxRequestHeaderCount + 1) + "\r\n", 431, TooLarge);
        yield return Case("HeaderCount_OverSmallLimit_431ThenClose", "GET / HTTP/1.1\r\n" + HeaderFields(4) + "\r\n", 431, TooLarge, maxCount: 3);
    }

    [TestCaseSource(nameof(OverLimitHeads))]
    public async Task Head_OverLimit_ExactStatusThenClose(string request, int status, string reason, int maxLine, int maxHeaders, int maxCount, bool counted)
    {
        // Arrange
        await using var server = TestServer.Start(o =>
        {
            if (maxLine > 0)
            {
                o.MaxRequestLineBytes = maxLine;
            }

            if (maxHeaders > 0)
            {
                o.MaxRequestHeadersBytes = maxHeaders;
            }

            if (maxCount > 0)
            {
                o.MaxRequestHeaderCount = maxCount;
            }
        });
        var peer = await ConnectAsync(server);

        // Act
        await peer.SendAsync(request);
        var response = await peer.ReadResponseAsync(timeout: IoTimeout);
        var end = await peer.ReadEndAsync(IoTimeout);

        // Assert
        AssertRejectedThenClosed(response, end, status, reason);
        if (counted)
        {
            Assert.That(server.Server.Metrics.Rejections(status), Is.EqualTo(1), $"rejections counted with status {status}");
        }

        await AssertCleanAfterCloseAsync(server);
    }

    // ---- request and keep-alive timeouts --------------------------------------------------------------

    [Test]
    [Category("Timing")]
    public async Task RequestTimeout_HeaderDrippedEvery100ms_408ThenCloseWithinTimeoutPlusSweep()
    {
        // Arrange
        await using var server = TestServer.Start(o => o.RequestTimeout = TimeSpan.FromMilliseconds(500));
        var peer = await ConnectAsync(server);
        var clock = Stopwatch.StartNew();
        await peer.SendAsync("GET / HTTP/1.1\r\nHost: x\r\n");
        using var stopDripping = new CancellationTokenSource();

        // Act: the slowloris attack itself, one byte of a header field that never ends every 100 ms.
        var drip = DripAsync(peer, "X-Slow: " + new string('a', 200), TimeSpan.FromMilliseconds(100), stopDripping.Token);
        var response = await peer.ReadResponseAsync(timeout: IoTimeout);
        var answeredAfter = clock.Elapsed;
        var end = await peer.ReadEndAsync(IoTimeout);
        var closedAfter = clock.Elapsed;
        await stopDripping.CancelAsync();
        await drip;

        // Assert
        AssertRejectedThenClosed(response, end, 408, "Request Timeout");
        Assert.Multiple(() =>
        {
            Assert.That(answeredAfter, Is.InRange(TimeSpan.FromSeconds(0.4), TimeSpan.FromSeconds(3)), "408 arrived after");
            Assert.That(closedAfter, Is.LessThanOrEqualTo(TimeSpan.FromSeconds(3)), "the close arrived after");
            Assert.That(server.Server.Metrics.Rejections(408), Is.EqualTo(1), "rejections counted with status 408");
        });
        await AssertCleanAfterCloseAsync(server);
    }

    [Test]
    [Category("Timing")]
    public async Task RequestTimeout_ConnectionSendsNothing_408ThenCloseAfterTimeout()
    {
        // Arrange
        await using var server = TestServer.Start(o => o.RequestTimeout = TimeSpan.FromMilliseconds(500));

        // Act
        var clock = Stopwatch.StartNew();
        var peer = await ConnectAsync(server);
        var response = await peer.ReadResponseAsync(timeout: IoTimeout);
        var answeredAfter = clock.Elapsed;
        var end = await peer.ReadEndAsync(IoTimeout);

        // Assert
        AssertRejectedThenClosed(response, end, 408, "Request Timeout");
        Assert.That(answeredAfter, Is.InRange(TimeSpan.FromSeconds(0.4), TimeSpan.FromSeconds(3)), "408 arrived after");
        await AssertCleanAfterCloseAsync(server);
    }

    [Test]
    [Category("Timing")]
    public async Task KeepAliveTimeout_IdleAfterOneResponse_ClosedQuietlyNotBefore400ms()
    {
        // Arrange
        await using var server = TestServer.Start(o => o.KeepAliveTimeout = TimeSpan.FromMilliseconds(500));
        var peer = await ConnectAsync(server);
        await peer.SendAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        var response = await peer.ReadResponseAsync(timeout: IoTimeout);
        var idle = Stopwatch.StartNew();

        // Act
        var end = await peer.ReadEndAsync(IoTimeout);
        var closedAfter = idle.Elapsed;

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(response.Status, Is.EqualTo(200), Describe.Response(response));
            Assert.That(response.Headers.ContainsKey("Connection"), Is.False, $"a keep-alive response; got {Describe.Response(response)}");
            Assert.That(end.End, Is.EqualTo(ReadEnd.Eof), $"a quiet close (FIN); got {end}");
            Assert.That(end.Bytes, Is.Empty, $"no bytes at the keep-alive close; got {end}");
            Assert.That(closedAfter, Is.InRange(TimeSpan.FromSeconds(0.4), TimeSpan.FromSeconds(3)), "closed after idling for");
            Assert.That(server.Server.Metrics.Rejections(408), Is.Zero, "an idle keep-alive connection is not a timed-out request");
        });
        await AssertCleanAfterCloseAsync(server);
    }

    [Test]
    [Category("Timing")]
    public async Task Timeouts_LiveStreamPastRequestAndKeepAliveTimeouts_NotCutHeartbeatsAndEventsArrive()
    {
        // Arrange
        await using var server = TestServer.Start(o =>
        {
            o.RequestTimeout = TimeSpan.FromMilliseconds(300);
            o.KeepAliveTimeout = TimeSpan.FromMilliseconds(300);
            o.HeartbeatInterval = TimeSpan.FromMilliseconds(100);
        });
        var stream = await OpenTrackedStreamAsync(server);

        // Act: keep reading for 2 s; every read has a 1 s deadline, so a pause in the heartbeats fails the test.
        var clock = Stopwatch.StartNew();
        int heartbeats = 0;
        while (clock.Elapsed < TimeSpan.FromSeconds(2))
        {
            string got = await stream.ReadUntilAsync(":\n", TimeSpan.FromSeconds(1));
            Assert.That(Describe.Escape(got), Is.EqualTo(Describe.Escape(":\n")), "only heartbeats are expected on a quiet stream");
            heartbeats++;
        }

        int openAfterTwoSeconds = server.Server.ConnectionCount;
        server.Hub.Publish(Hub.DefaultTopic, new SseEvent("still-here"));
        string frame = await stream.ReadUntilAsync("data: still-here\n\n", IoTimeout);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(heartbeats, Is.GreaterThanOrEqualTo(10), "heartbeats in 2 s at a 100 ms interval");
            Assert.That(openAfterTwoSeconds, Is.EqualTo(1), "open connections after 2 s");
            Assert.That(frame, Does.EndWith("data: still-here\n\n"));
            Assert.That(server.Server.Metrics.Rejections(408), Is.Zero, "a stream must never get 408");
        });
        await AssertCleanAfterCloseAsync(server);
    }

    // ---- connection and stream caps -------------------------------------------------------------------

    [Test]
    public async Task MaxConnections_SixthOfFive_503WithRetryAfterThenCloseAndOthersUnaffected()
    {
        // Arrange: one stream and four keep-alive connections, each with a request served.
        await using var server = TestServer.Start(o => o.MaxConnections = 5);
        var stream = await OpenTrackedStreamAsync(server);
        var plain = new List<RawClient>();
        for (int i = 0; i < 4; i++)
        {
            var peer = await ConnectAsync(server);
            await peer.SendAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
            var ok = await peer.ReadResponseAsync(timeout: IoTimeout);
            Assert.That(ok.Status, Is.EqualTo(200), Describe.Response(ok));
            plain.Add(peer);
        }

        Assert.That(await Polling.UntilAsync(() => server.Server.ConnectionCount == 5, SettleTimeout), Is.True,
            $"expected 5 open connections, have {server.Server.ConnectionCount}");

        // Act
        var sixth = await ConnectAsync(server);
        await sixth.SendAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        var refused = await sixth.ReadResponseAsync(timeout: IoTimeout);
        var end = await sixth.ReadEndAsync(IoTimeout);
        server.Hub.Publish(Hub.DefaultTopic, new SseEvent("after-refusal"));
        string frame = await stream.ReadUntilAsync("data: after-refusal\n\n", IoTimeout);

        plain[0].Dispose();
        plain[1].Dispose();
        bool freed = await Polling.UntilAsync(() => server.Server.ConnectionCount == 3, SettleTimeout);
        var fresh = await ConnectAsync(server);
        await fresh.SendAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        var served = await fresh.ReadResponseAsync(timeout: IoTimeout);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(refused.StatusLine, Is.EqualTo("HTTP/1.1 503 Service Unavailable"), Describe.Response(refused));
            Assert.That(refused.Headers.ContainsKey("Retry-After"), Is.True, $"Retry-After expected; got {Describe.Response(refused)}");
            Assert.That(end.End, Is.EqualTo(ReadEnd.Eof), $"close after the 503; got {end}");
            Assert.That(end.Bytes, Is.Empty, $"nothing after the 503; got {end}");
            Assert.That(frame, Does.EndWith("data: after-refusal\n\n"));
            Assert.That(freed, Is.True, $"expected 3 open connections after closing two, have {server.Server.ConnectionCount}");
            Assert.That(served.Status, Is.EqualTo(200), Describe.Response(served));
            Assert.That(server.Server.Metrics.Rejections(503), Is.EqualTo(1), "rejections counted with status 503");
        });
        await AssertCleanAfterCloseAsync(server);
    }

    [Test]
    public async Task MaxStreamsPerAddress_ThirdStreamFromOneAddress_429WithRetryAfterOtherAddressAndFreedSlotAccepted()
    {
        // Arrange
        await using var server = TestServer.Start(o => o.MaxStreamsPerAddress = 2);
        var first = await OpenTrackedStreamAsync(server);
        _ = await OpenTrackedStreamAsync(server);

        // Act
        var third = await ConnectAsync(server);
        await third.SendAsync("GET /sse HTTP/1.1\r\nHost: x\r\n\r\n");
        var refused = await third.ReadResponseAsync(timeout: IoTimeout);
        var otherAddress = await OpenTrackedStreamAsync(server, SecondLoopback);
        int openBefore = server.Server.ConnectionCount;
        first.Dispose();
        bool released = await Polling.UntilAsync(() => server.Server.ConnectionCount == openBefore - 1, SettleTimeout);
        var again = await ConnectAsync(server);
        await again.SendAsync("GET /sse HTTP/1.1\r\nHost: x\r\n\r\n");
        var accepted = await again.ReadResponseAsync(expectBody: false, timeout: IoTimeout);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(refused.StatusLine, Is.EqualTo("HTTP/1.1 429 Too Many Requests"), Describe.Response(refused));
            Assert.That(refused.Headers.ContainsKey("Retry-After"), Is.True, $"Retry-After expected; got {Describe.Response(refused)}");
            Assert.That(otherAddress.LocalAddress, Is.EqualTo(SecondLoopback), "the other stream's source address");
            Assert.That(released, Is.True, $"expected {openBefore - 1} open connections after closing a stream, have {server.Server.ConnectionCount}");
            Assert.That(accepted.Status, Is.EqualTo(200), $"a stream from 127.0.0.1 once a slot is free; got {Describe.Response(accepted)}");
            Assert.That(server.Server.Metrics.Rejections(429), Is.EqualTo(1), "rejections counted with status 429");
        });
        await AssertCleanAfterCloseAsync(server);
    }

    [Test]
    public async Task MaxStreamsPerAddress_DefaultNoLimit_TenStreamsFromOneAddressAccepted()
    {
        // Arrange
        await using var server = TestServer.Start();

        // Act
        for (int i = 0; i < 10; i++)
        {
            _ = await OpenTrackedStreamAsync(server);
        }

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(server.Hub.SubscriberCount, Is.EqualTo(10), "subscribers");
            Assert.That(server.Server.Metrics.Rejections(429), Is.Zero, "rejections counted with status 429");
        });
        await AssertCleanAfterCloseAsync(server);
    }

    // ---- strict parsing ---------------------------------------------------------------------------------

    private static IEnumerable<TestCaseData> MalformedHeads()
    {
        (string Name, string Head, int Status)[] cases =
        [
            ("whitespace before colon", "GET / HTTP/1.1\r\nHost: x\r\nX-A : b\r\n\r\n", 400),
            ("obs-fold", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n", 400),
            ("bare CR in a value", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n", 400),
            ("NUL in a value", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n", 400),
            ("control char in a name", "GET / HTTP/1.1\r\nHost: x\r\nX\u0001A: b\r\n\r\n", 400),
            ("bad method token", "G(T / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
            ("HTTP/1.2", "GET / HTTP/1.2\r\nHost: x\r\n\r\n", 505),
            ("HTTP/2.0", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505),
            ("unknown method", "BREW / HTTP/1.1\r\nHost: x\r\n\r\n", 501),
            ("HTTP/1.1 without Host", "GET / HTTP/1.1\r\n\r\n", 400),
            ("two Host fields", "GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 400),
            ("Transfer-Encoding and Content-Length", "POST /publish HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nabc", 400),
            ("Content-Length -1", "POST /publish HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400),
            ("Content-Length +5", "POST /publish HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nabcde", 400),
            ("Content-Length 4 2", "POST /publish HTTP/1.1\r\nHost: x\r\nContent-Length: 4 2\r\n\r\n", 400),
            ("two different Content-Length", "POST /publish HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\na", 400),
            ("Transfer-Encoding gzip", "POST /publish HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 400), // RFC 9112 §6.3: chunked must be final
            ("Transfer-Encoding gzip chunked", "POST /publish HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", 501),
            ("asterisk-form", "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", 400),
            ("authority-form", "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", 400),
            ("bare LF line endings", "GET / HTTP/1.1\nHost: x\n\n", 400),
            ("two leading CRLFs", "\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        ];

        foreach (var (name, head, status) in cases)
        {
            foreach (bool byteByByte in new[] { false, true })
            {
                yield return new TestCaseData(head, status, byteByByte).SetArgDisplayNames(name, status.ToString(CultureInfo.InvariantCulture), byteByByte ? "byte by byte" : "whole");
            }
        }
    }

    [TestCaseSource(nameof(MalformedHeads))]
    public async Task Parse_MalformedHead_ExactStatusThenClose(string head, int status, bool byteByByte)
    {
        // Arrange
        await using var server = TestServer.Start();
        var peer = await ConnectAsync(server);

        // Act
        await SendAsync(peer, head, byteByByte);
        var response = await peer.ReadResponseAsync(timeout: IoTimeout);
        var end = await peer.ReadEndAsync(IoTimeout);

        // Assert
        AssertRejectedThenClosed(response, end, status, reason: null);
        Assert.That(server.Server.Metrics.Rejections(status), Is.EqualTo(1), $"rejections counted with status {status}");
        await AssertCleanAfterCloseAsync(server);
    }

    [Test]
    public async Task Parse_AbsoluteFormTarget_200WithIndexBody()
    {
        // Arrange
        await using var server = TestServer.Start();
        var peer = await ConnectAsync(server);

        // Act
        await peer.SendAsync("GET http://localhost/ HTTP/1.1\r\nHost: localhost\r\n\r\n");
        var response = await peer.ReadResponseAsync(timeout: IoTimeout);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(response.Status, Is.EqualTo(200), Describe.Response(response));
            Assert.That(response.BodyText, Is.EqualTo(IndexBody));
        });
        await AssertCleanAfterCloseAsync(server);
    }

    [TestCase(false)]
    [TestCase(true)]
    public async Task Parse_OneLeadingCrlf_IgnoredAnd200(bool byteByByte)
    {
        // Arrange
        await using var server = TestServer.Start();
        var peer = await ConnectAsync(server);

        // Act
        await SendAsync(peer, "\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", byteByByte);
        var response = await peer.ReadResponseAsync(timeout: IoTimeout);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(response.Status, Is.EqualTo(200), Describe.Response(response));
            Assert.That(response.BodyText, Is.EqualTo(IndexBody));
        });
        await AssertCleanAfterCloseAsync(server);
    }

    // ---- publish bodies -------------------------------------------------------------------------------

    [Test]
    public async Task Publish_BodyOverMaxPublishBodyBytes_413ReadableWhileClientKeepsSendingThenClose()
    {
        // Arrange
        const int bodyLength = 256 * 1024;
        await using var server = TestServer.Start(o => o.MaxPublishBodyBytes = 1024);
        var peer = await ConnectAsync(server);
        byte[] body = Encoding.ASCII.GetBytes("topic=a&data=" + new string('x', bodyLength - 13));

        // Act: the head and the start of the body, then the 413, then the rest of the body as a client that does not listen would.
        await peer.SendAsync(PublishHead(body.Length) + Encoding.ASCII.GetString(body, 0, 8 * 1024));
        var response = await peer.ReadResponseAsync(timeout: IoTimeout);
        for (int sent = 8 * 1024; sent < body.Length; sent += 16 * 1024)
        {
            await peer.SendAsync(body.AsMemory(sent, Math.Min(16 * 1024, body.Length - sent)));
        }

        var end = await peer.ReadEndAsync(IoTimeout);

        // Assert
        AssertRejectedThenClosed(response, end, 413, "Content Too Large");
        Assert.That(server.Server.Metrics.EventsPublished, Is.Zero, "events published");
        await AssertCleanAfterCloseAsync(server);
    }

    [Test]
    public async Task Publish_BodyOverMaxPublishBodyBytes_CountedAsRejection413()
    {
        // Arrange
        await using var server = TestServer.Start(o => o.MaxPublishBodyBytes = 1024);
        var peer = await ConnectAsync(server);

        // Act
        await peer.SendAsync(PublishHead(2048) + new string('x', 2048));
        var response = await peer.ReadResponseAsync(timeout: IoTimeout);
        var end = await peer.ReadEndAsync(IoTimeout);

        // Assert
        AssertRejectedThenClosed(response, end, 413, "Content Too Large");
        Assert.That(server.Server.Metrics.Rejections(413), Is.EqualTo(1), "rejections counted with status 413 (rawsse_requests_rejected_total{status=\"413\"})");
        await AssertCleanAfterCloseAsync(server);
    }

    [Test]
    [Category("Timing")]
    public async Task Publish_413WithWriteTimeoutShorterThanLinger_ClientStillSendingBodyIsNotCut()
    {
        // Arrange: the body trickles in for about a second after the 413, inside the server's 2 s lingering close
        // and past the write timeout, which governs sends in flight, not a finished response.
        await using var server = TestServer.Start(o =>
        {
            o.MaxPublishBodyBytes = 1024;
            o.WriteTimeout = TimeSpan.FromMilliseconds(300);
        });
        var peer = await ConnectAsync(server);
        const int chunks = 10;
        byte[] chunk = Encoding.ASCII.GetBytes(new string('x', 1024));
        await peer.SendAsync(PublishHead(chunks * chunk.Length));
        var response = await peer.ReadResponseAsync(timeout: IoTimeout);

        // Act
        var clock = Stopwatch.StartNew();
        int sentChunks = 0;
        Exception? failure = null;
        try
        {
            for (; sentChunks < chunks; sentChunks++)
            {
                await peer.SendAsync(chunk);
                await Task.Delay(100);
            }
        }
        catch (SocketException ex)
        {
            failure = ex;
        }

        var failedAfter = clock.Elapsed;
        var end = await peer.ReadEndAsync(IoTimeout);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(response.Status, Is.EqualTo(413), Describe.Response(response));
            Assert.That(failure, Is.Null, $"the body send failed after {sentChunks} of {chunks} chunks, {failedAfter.TotalMilliseconds:F0} ms after the 413: {failure?.Message}");
            Assert.That(end.End, Is.EqualTo(ReadEnd.Eof), $"a clean close after the 413; got {end}");
        });
        await AssertCleanAfterCloseAsync(server);
    }

    // ---- counting and logging every rejection -------------------------------------------------------------

    [Test]
    public async Task Rejections_NMalformedHeads_CountedExactlyN()
    {
        // Arrange
        await using var server = TestServer.Start();
        string[] heads = MalformedHeads()
            .Where(c => (int)c.Arguments[1]! == 400 && !(bool)c.Arguments[2]!)
            .Select(c => (string)c.Arguments[0]!)
            .ToArray();

        // Act
        foreach (string head in heads)
        {
            using var peer = await RawClient.ConnectAsync(server.EndPoint);
            await peer.SendAsync(head);
            var response = await peer.ReadResponseAsync(timeout: IoTimeout);
            Assert.That(response.Status, Is.EqualTo(400), $"for '{Describe.Escape(head)}': {Describe.Response(response)}");
        }

        // Assert
        Assert.That(server.Server.Metrics.Rejections(400), Is.EqualTo(heads.Length), "rejections counted with status 400");
        await AssertCleanAfterCloseAsync(server);
    }

    [Test]
    [Category("Timing")]
    public async Task RejectionLog_200MalformedRequests_AtMostTenLinesASecondAndTheRestSummarised()
    {
        // Arrange
        const int flood = 200;
        await using var server = TestServer.Start();
        var clock = Stopwatch.StartNew();

        // Act
        for (int i = 0; i < flood; i++)
        {
            await SendOneMalformedAsync(server);
        }

        // The suppressed count is logged with the first message of a later second: probe until every rejection is
        // accounted for, either as its own line or inside a summary.
        int probes = 0;
        var accounted = Stopwatch.StartNew();
        (int Logged, long Suppressed, int Summaries) log;
        while (true)
        {
            log = CountRejectionLog(server);
            if (log.Summaries > 0 && log.Logged + log.Suppressed == server.Server.Metrics.Rejections(400))
            {
                break;
            }

            if (accounted.Elapsed > TimeSpan.FromSeconds(3))
            {
                break;
            }

            await Task.Delay(50); // polling interval: the next probe belongs to a later rate-limit window
            await SendOneMalformedAsync(server);
            probes++;
        }

        var elapsed = clock.Elapsed;
        long rejected = server.Server.Metrics.Rejections(400);

        // Assert: a rate-limit window opens at most once a second and holds at most ten lines. The limiter reads
        // Environment.TickCount64, a coarse clock on Linux (a few ms a tick), so its second may end up to 10 ms early by
        // this test's Stopwatch.
        int windows = (int)Math.Floor((elapsed.TotalMilliseconds + 10) / 1000) + 1;
        Assert.Multiple(() =>
        {
            Assert.That(rejected, Is.EqualTo(flood + probes), "rejections counted with status 400");
            Assert.That(log.Logged, Is.LessThanOrEqualTo(10 * windows), $"'rejected with' lines in {elapsed.TotalSeconds:F2} s");
            Assert.That(log.Summaries, Is.GreaterThanOrEqualTo(1), "lines saying '... not logged (rate limit)'");
            Assert.That(log.Logged + log.Suppressed, Is.EqualTo(rejected), $"logged ({log.Logged}) + summarised ({log.Suppressed}) rejections");
        });
        await AssertCleanAfterCloseAsync(server);
    }

    // ---- clients that never read ----------------------------------------------------------------------

    [Test]
    [Category("Timing")]
    public async Task WriteTimeout_ClientNeverReadsLargeFile_ConnectionAborted()
    {
        // Arrange
        const int fileLength = 4 * 1024 * 1024;
        var abortDeadline = TimeSpan.FromSeconds(3);
        await using var server = TestServer.Start(o =>
        {
            o.WriteTimeout = TimeSpan.FromMilliseconds(500);
            o.ShutdownTimeout = TimeSpan.Zero; // should the connection leak, the stop gives up sooner and the test stays short
        });
        await File.WriteAllBytesAsync(Path.Combine(server.Root, "big.bin"), new byte[fileLength]);
        var peer = await ConnectAsync(server, receiveBufferSize: 4096);

        // Act
        await peer.SendAsync("GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n");
        bool accepted = await Polling.UntilAsync(() => server.Server.ConnectionCount == 1, SettleTimeout);
        var clock = Stopwatch.StartNew();
        bool aborted = await Polling.UntilAsync(() => server.Server.ConnectionCount == 0, abortDeadline);
        var abortedAfter = clock.Elapsed;
        var end = await peer.ReadEndAsync(TimeSpan.FromSeconds(10));

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(accepted, Is.True, "the connection was accepted");
            Assert.That(aborted, Is.True, $"expected the stalled connection to be aborted and gone within {abortDeadline.TotalSeconds} s; {server.Server.ConnectionCount} still open");
            Assert.That(abortedAfter, Is.LessThan(abortDeadline), "aborted after");
            Assert.That(end.End, Is.AnyOf(ReadEnd.Eof, ReadEnd.Reset), $"the connection ends; got {end.End} after {end.Bytes.Length} bytes");
            Assert.That(end.Bytes.Length, Is.LessThan(fileLength), "bytes received: the response was cut, not completed");
        });
        await AssertCleanAfterCloseAsync(server);
    }

    // ---- helpers ------------------------------------------------------------------------------------------

    private async Task<RawClient> ConnectAsync(TestServer server, IPAddress? bindTo = null, int receiveBufferSize = 0)
    {
        return Track(await RawClient.ConnectAsync(server.EndPoint, bindTo, receiveBufferSize, IoTimeout));
    }

    /// <summary>Closes <paramref name="client"/> at the test's end (or at <see cref="AssertCleanAfterCloseAsync"/>).</summary>
    private RawClient Track(RawClient client)
    {
        _peers.Add(client);
        return client;
    }

    /// <summary>Opens <c>/sse</c> (from <paramref name="bindTo"/> when given) and waits until the hub has the subscriber.</summary>
    private async Task<RawClient> OpenTrackedStreamAsync(TestServer server, IPAddress? bindTo = null) =>
        Track(await SseStream.OpenStreamAsync(server, "/sse", IoTimeout, source: bindTo, waitForSubscriber: true));

    /// <summary>Closes every client, then: every connection gone from the server, and no Error-level log entry.</summary>
    private async Task AssertCleanAfterCloseAsync(TestServer server)
    {
        ClosePeers();
        bool drained = await Polling.UntilAsync(() => server.Server.ConnectionCount == 0, SettleTimeout);
        Assert.Multiple(() =>
        {
            Assert.That(drained, Is.True, $"expected 0 open connections once every client closed, have {server.Server.ConnectionCount}");
            Assert.That(server.Logs.Errors, Is.Empty, "Error-level log entries");
        });
    }

    private static void AssertRejectedThenClosed(HttpResponse response, ConnectionEnd end, int status, string? reason)
    {
        Assert.Multiple(() =>
        {
            Assert.That(response.Status, Is.EqualTo(status), Describe.Response(response));
            if (reason is not null)
            {
                Assert.That(response.StatusLine, Is.EqualTo($"HTTP/1.1 {status} {reason}"), Describe.Response(response));
            }

            Assert.That(response.Headers.GetValueOrDefault("Connection"), Is.EqualTo("close"), $"Connection: close expected; got {Describe.Response(response)}");
            Assert.That(end.End, Is.EqualTo(ReadEnd.Eof), $"a clean close (FIN) after the {status}; got {end}");
            Assert.That(end.Bytes, Is.Empty, $"nothing after the {status} response; got {end}");
        });
    }

    private static async Task SendAsync(RawClient peer, string text, bool byteByByte)
    {
        if (!byteByByte)
        {
            await peer.SendAsync(text);
            return;
        }

        foreach (byte b in Encoding.Latin1.GetBytes(text))
        {
            await peer.SendAsync(new[] { b });
        }
    }

    private static async Task DripAsync(RawClient peer, string text, TimeSpan interval, CancellationToken cancellationToken)
    {
        try
        {
            foreach (byte b in Encoding.Latin1.GetBytes(text))
            {
                await peer.SendAsync(new[] { b });
                await Task.Delay(interval, cancellationToken);
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (SocketException)
        {
            // The server has closed: the attack is over.
        }
    }

    private static async Task SendOneMalformedAsync(TestServer server)
    {
        using var peer = await RawClient.ConnectAsync(server.EndPoint);
        await peer.SendAsync("GET / HTTP/1.1\r\nHost : x\r\n\r\n");
        var response = await peer.ReadResponseAsync(timeout: IoTimeout);
        Assert.That(response.Status, Is.EqualTo(400), Describe.Response(response));
    }

    private static (int Logged, long Suppressed, int Summaries) CountRejectionLog(TestServer server)
    {
        int logged = 0, summaries = 0;
        long suppressed = 0;
        foreach (var (_, message, _) in server.Logs.Entries.ToArray())
        {
            if (message.Contains("rejected with", StringComparison.Ordinal))
            {
                logged++;
            }
            else if (message.Contains("not logged (rate limit)", StringComparison.Ordinal))
            {
                summaries++;
                suppressed += long.Parse(message[..message.IndexOf(' ', StringComparison.Ordinal)], CultureInfo.InvariantCulture);
            }
        }

        return (logged, suppressed, summaries);
    }

    /// <summary>"GET /?aaa… HTTP/1.1\r\n" of exactly <paramref name="length"/> bytes, CRLF included; the query does not change the route.</summary>
    private static string RequestLineOfExactly(int length)
    {
        const string prefix = "GET /?q=", suffix = " HTTP/1.1\r\n";
        return prefix + new string('a', length - prefix.Length - suffix.Length) + suffix;
    }

    /// <summary>Host plus filler fields whose lines (each with CRLF) and the final blank line total exactly <paramref name="length"/> bytes.</summary>
    private static string HeaderSectionOfExactly(int length)
    {
        const int maxLine = 4000;
        var text = new StringBuilder("Host: x\r\n");
        int remaining = length - text.Length - 2;
        for (int i = 0; remaining > 0; i++)
        {
            string name = $"X-Fill-{i:D2}: ";
            int overhead = name.Length + 2;
            int line = remaining > maxLine + overhead ? maxLine : remaining;
            text.Append(name).Append('v', line - overhead).Append("\r\n");
            remaining -= line;
        }

        return text.Append("\r\n").ToString();
    }

    /// <summary><paramref name="count"/> field lines, Host first.</summary>
    private static string HeaderFields(int count)
    {
        var text = new StringBuilder("Host: x\r\n");
        for (int i = 1; i < count; i++)
        {
            text.Append("X-F").Append(i.ToString(CultureInfo.InvariantCulture)).Append(": v\r\n");
        }

        return text.ToString();
    }

    private static string PublishHead(int contentLength) =>
        $"POST /publish HTTP/1.1\r\nHost: x\r\nContent-Type: {Publishing.FormContentType}\r\nContent-Length: {contentLength.ToString(CultureInfo.InvariantCulture)}\r\n\r\n";
}
