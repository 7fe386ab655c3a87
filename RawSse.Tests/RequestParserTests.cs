using System.Buffers;
using System.Text;
using RawSse.Http;

namespace RawSse.Tests;

/// <summary>
/// Pure tests of <see cref="RequestParser.TryParseHead"/>: no sockets. Heads are written as strings and turned
/// into bytes with Latin-1, so "\0" or "\u00E9" in a test case is exactly one byte on the wire.
/// </summary>
public sealed class RequestParserTests
{
    // Small limits keep the limit tests short; the boundaries below are computed from these numbers.
    private const int SmallLine = 64;
    private const int SmallHeaders = 128;
    private const int SmallCount = 4;

    private static readonly RequestLimits s_small = new(SmallLine, SmallHeaders, SmallCount);

    private const string RealisticHead =
        "GET /sse?topic=news&x=1 HTTP/1.1\r\n" +
        "Host: example.com:8080\r\n" +
        "User-Agent: test-client/1.0\r\n" +
        "Accept: text/event-stream\r\n" +
        "Cache-Control: no-cache\r\n" +
        "Last-Event-ID: 42\r\n" +
        "If-None-Match: \"abc\"\r\n" +
        "if-none-match: W/\"def\"\r\n" +
        "Connection: keep-alive, Upgrade\r\n" +
        "Content-Length: 0\r\n" +
        "\r\n";

    // ---- valid heads ---------------------------------------------------------------------------------

    [Test]
    public void TryParseHead_FullValidHead_ParsesEveryField()
    {
        // Arrange
        var bytes = Bytes(
            "GET /a/b?x=1&y=2 HTTP/1.1\r\n" +
            "Host: example.com\r\n" +
            "Content-Length: 0\r\n" +
            "Connection: keep-alive\r\n" +
            "Last-Event-ID: 17\r\n" +
            "If-None-Match: \"v1\"\r\n" +
            "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n" +
            "Content-Type: text/plain\r\n" +
            "Authorization: Bearer t\r\n" +
            "X-Ignored: whatever\r\n" +
            "\r\n");
        var request = new HttpRequest();

        // Act
        bool complete = Parse(new ReadOnlySequence<byte>(bytes), request, RequestLimits.Default, out long consumed);

        // Assert
        Assert.That(complete, Is.True, "a complete head should parse");
        Assert.Multiple(() =>
        {
            Assert.That(consumed, Is.EqualTo(bytes.Length), "consumed bytes");
            Assert.That(request.Method, Is.EqualTo(RequestMethod.Get));
            Assert.That(request.Target, Is.EqualTo("/a/b?x=1&y=2"));
            Assert.That(request.Path, Is.EqualTo("/a/b"));
            Assert.That(request.Query, Is.EqualTo("x=1&y=2"));
            Assert.That(request.MinorVersion, Is.EqualTo(1));
            Assert.That(request.Host, Is.EqualTo("example.com"));
            Assert.That(request.HostCount, Is.EqualTo(1));
            Assert.That(request.ContentLength, Is.EqualTo(0));
            Assert.That(request.ConnectionKeepAlive, Is.True);
            Assert.That(request.ConnectionClose, Is.False);
            Assert.That(request.KeepAlive, Is.True);
            Assert.That(request.LastEventId, Is.EqualTo("17"));
            Assert.That(request.IfNoneMatch, Is.EqualTo("\"v1\""));
            Assert.That(request.IfModifiedSince, Is.EqualTo("Sun, 06 Nov 1994 08:49:37 GMT"));
            Assert.That(request.ContentType, Is.EqualTo("text/plain"));
            Assert.That(request.Authorization, Is.EqualTo("Bearer t"));
            Assert.That(request.TransferEncoding, Is.Null);
        });
    }

    [Test]
    public void TryParseHead_NoContentLength_ContentLengthIsMinusOne()
    {
        // Arrange
        var request = new HttpRequest();

        // Act
        bool complete = Parse("GET / HTTP/1.1\r\nHost: a\r\n\r\n", request);

        // Assert
        Assert.That(complete, Is.True);
        Assert.That(request.ContentLength, Is.EqualTo(-1));
    }

    [TestCase("0", 0L)]
    [TestCase("5", 5L)]
    [TestCase("  42 \t", 42L)]
    [TestCase("007", 7L)]
    [TestCase("123456789012345678", 123456789012345678L)]
    public void TryParseHead_ValidContentLength_IsParsed(string value, long expected)
    {
        // Arrange
        var request = new HttpRequest();

        // Act
        bool complete = Parse($"POST / HTTP/1.1\r\nHost: a\r\nContent-Length:{value}\r\n\r\n", request);

        // Assert
        Assert.That(complete, Is.True);
        Assert.That(request.ContentLength, Is.EqualTo(expected));
    }

    [TestCase("HTTP/1.1", null, false, false, true)]
    [TestCase("HTTP/1.1", "close", true, false, false)]
    [TestCase("HTTP/1.1", "Close", true, false, false)]
    [TestCase("HTTP/1.1", "keep-alive", false, true, true)]
    [TestCase("HTTP/1.1", "Keep-Alive, Upgrade", false, true, true)]
    [TestCase("HTTP/1.0", null, false, false, false)]
    [TestCase("HTTP/1.0", "keep-alive", false, true, true)]
    [TestCase("HTTP/1.0", "KEEP-ALIVE", false, true, true)]
    [TestCase("HTTP/1.0", "keep-alive, close", true, true, false)]
    public void TryParseHead_ConnectionHeader_SetsCloseAndKeepAlive(string version, string? connection, bool close, bool keepAliveToken, bool keepAlive)
    {
        // Arrange
        string head = $"GET / {version}\r\nHost: a\r\n" + (connection is null ? "" : $"Connection: {connection}\r\n") + "\r\n";
        var request = new HttpRequest();

        // Act
        bool complete = Parse(head, request);

        // Assert
        Assert.That(complete, Is.True);
        Assert.Multiple(() =>
        {
            Assert.That(request.ConnectionClose, Is.EqualTo(close), "ConnectionClose");
            Assert.That(request.ConnectionKeepAlive, Is.EqualTo(keepAliveToken), "ConnectionKeepAlive");
            Assert.That(request.KeepAlive, Is.EqualTo(keepAlive), "KeepAlive");
        });
    }

    [Test]
    public void TryParseHead_Http10WithoutHost_IsAccepted()
    {
        // Arrange
        var request = new HttpRequest();

        // Act
        bool complete = Parse("GET /x HTTP/1.0\r\n\r\n", request);

        // Assert
        Assert.That(complete, Is.True);
        Assert.Multiple(() =>
        {
            Assert.That(request.MinorVersion, Is.EqualTo(0));
            Assert.That(request.Host, Is.Null);
            Assert.That(request.Path, Is.EqualTo("/x"));
            Assert.That(request.KeepAlive, Is.False);
        });
    }

    [Test]
    public void TryParseHead_HeaderNamesInAnyCase_AreRecognised()
    {
        // Arrange
        var request = new HttpRequest();

        // Act
        bool complete = Parse("GET / HTTP/1.1\r\nhOsT: h\r\nCONTENT-LENGTH: 3\r\nlast-event-id: e\r\n\r\n", request);

        // Assert
        Assert.That(complete, Is.True);
        Assert.Multiple(() =>
        {
            Assert.That(request.Host, Is.EqualTo("h"));
            Assert.That(request.ContentLength, Is.EqualTo(3));
            Assert.That(request.LastEventId, Is.EqualTo("e"));
        });
    }

    [Test]
    public void TryParseHead_SeveralIfNoneMatchFields_AreJoinedWithComma()
    {
        // Arrange
        var request = new HttpRequest();

        // Act
        bool complete = Parse("GET / HTTP/1.1\r\nHost: a\r\nIf-None-Match: \"a\"\r\nIf-None-Match: W/\"b\"\r\n\r\n", request);

        // Assert
        Assert.That(complete, Is.True);
        Assert.That(request.IfNoneMatch, Is.EqualTo("\"a\", W/\"b\""));
    }

    [Test]
    public void TryParseHead_LastEventIdInUtf8_IsDecodedAsUtf8()
    {
        // Arrange
        var bytes = Encoding.UTF8.GetBytes("GET /sse HTTP/1.1\r\nHost: a\r\nLast-Event-ID: caf\u00E9-\u4E2D\r\n\r\n");
        var request = new HttpRequest();

        // Act
        bool complete = Parse(new ReadOnlySequence<byte>(bytes), request, RequestLimits.Default, out _);

        // Assert
        Assert.That(complete, Is.True);
        Assert.That(request.LastEventId, Is.EqualTo("caf\u00E9-\u4E2D"));
    }

    [Test]
    public void TryParseHead_TabAndObsTextInValue_AreAccepted()
    {
        // Arrange
        var request = new HttpRequest();

        // Act
        bool complete = Parse("GET / HTTP/1.1\r\nHost: a\r\nX-A: one\ttwo \u00E9\u00FF\r\n\r\n", request);

        // Assert
        Assert.That(complete, Is.True);
    }

    [TestCase("/", "/", "")]
    [TestCase("/a/b?x=1&y=2", "/a/b", "x=1&y=2")]
    [TestCase("/?", "/", "")]
    [TestCase("/a?b?c", "/a", "b?c")]
    [TestCase("/%20a%2Fb", "/%20a%2Fb", "")]
    [TestCase("http://example.com/a/b?x=1", "/a/b", "x=1")]
    [TestCase("http://example.com", "/", "")]
    [TestCase("http://example.com?x=1", "/", "x=1")]
    [TestCase("HTTPS://Example.com:8443/p/q", "/p/q", "")]
    public void TryParseHead_RequestTarget_SplitsPathAndQuery(string target, string path, string query)
    {
        // Arrange
        var request = new HttpRequest();

        // Act
        bool complete = Parse($"GET {target} HTTP/1.1\r\nHost: a\r\n\r\n", request);

        // Assert
        Assert.That(complete, Is.True);
        Assert.Multiple(() =>
        {
            Assert.That(request.Target, Is.EqualTo(target), "Target");
            Assert.That(request.Path, Is.EqualTo(path), "Path");
            Assert.That(request.Query, Is.EqualTo(query), "Query");
        });
    }

    [TestCase("GET", "Get")]
    [TestCase("HEAD", "Head")]
    [TestCase("POST", "Post")]
    [TestCase("PUT", "Put")]
    [TestCase("DELETE", "Delete")]
    [TestCase("OPTIONS", "Options")]
    [TestCase("PATCH", "Patch")]
    [TestCase("TRACE", "Trace")]
    public void TryParseHead_KnownMethod_IsRecognised(string method, string expected)
    {
        // Arrange
        var request = new HttpRequest();

        // Act
        bool complete = Parse($"{method} / HTTP/1.1\r\nHost: a\r\n\r\n", request);

        // Assert
        Assert.That(complete, Is.True);
        Assert.That(request.Method.ToString(), Is.EqualTo(expected));
    }

    [Test]
    public void TryParseHead_HeadFollowedByMoreBytes_ConsumesOnlyTheHead()
    {
        // Arrange
        const string head = "GET /one HTTP/1.1\r\nHost: a\r\n\r\n";
        var bytes = Bytes(head + "hello" + "GET /two HTTP/1.1\r\n");
        var request = new HttpRequest();

        // Act
        bool complete = Parse(new ReadOnlySequence<byte>(bytes), request, RequestLimits.Default, out long consumed);

        // Assert
        Assert.That(complete, Is.True);
        Assert.That(consumed, Is.EqualTo(head.Length), "the parser must stop at the blank line ending the head");
    }

    [Test]
    public void TryParseHead_TwoPipelinedHeadsWithReset_ParsesBothFromOneReader()
    {
        // Arrange: the connection reuses one HttpRequest and calls Reset between requests.
        var bytes = Bytes("GET /one?a=1 HTTP/1.1\r\nHost: a\r\nLast-Event-ID: 1\r\n\r\nHEAD /two HTTP/1.0\r\n\r\n");
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(bytes));
        var request = new HttpRequest();

        // Act
        bool first = RequestParser.TryParseHead(ref reader, request, RequestLimits.Default);
        var firstSnapshot = Snapshot.Of(request);
        request.Reset();
        bool second = RequestParser.TryParseHead(ref reader, request, RequestLimits.Default);
        var secondSnapshot = Snapshot.Of(request);
        bool atEnd = reader.End;

        // Assert
        Assert.That(first && second, Is.True, $"first={first}, second={second}");
        Assert.Multiple(() =>
        {
            Assert.That(firstSnapshot.Path, Is.EqualTo("/one"));
            Assert.That(firstSnapshot.LastEventId, Is.EqualTo("1"));
            Assert.That(secondSnapshot.Method, Is.EqualTo(RequestMethod.Head));
            Assert.That(secondSnapshot.Path, Is.EqualTo("/two"));
            Assert.That(secondSnapshot.MinorVersion, Is.EqualTo(0));
            Assert.That(secondSnapshot.LastEventId, Is.Null, "Reset must clear the previous request's fields");
            Assert.That(secondSnapshot.Host, Is.Null, "Reset must clear the previous request's fields");
            Assert.That(atEnd, Is.True, "both heads consumed");
        });
    }

    // ---- "need more" ---------------------------------------------------------------------------------

    [TestCase("")]
    [TestCase("G")]
    [TestCase("GET / HTTP/1.")]
    [TestCase("GET / HTTP/1.1")]
    [TestCase("GET / HTTP/1.1\r")]
    [TestCase("GET / HTTP/1.1\r\n")]
    [TestCase("GET / HTTP/1.1\r\nHost: a")]
    [TestCase("GET / HTTP/1.1\r\nHost: a\r\n")]
    [TestCase("GET / HTTP/1.1\r\nHost: a\r\n\r")]
    public void TryParseHead_IncompleteHead_ReturnsFalseWithoutThrowing(string partial)
    {
        // Arrange
        var request = new HttpRequest();

        // Act
        var outcome = Run(() => Parse(partial, request));

        // Assert
        Assert.That(outcome.ToString(), Is.EqualTo("needs more"), $"for '{Escape(partial)}'");
    }

    // ---- split input ---------------------------------------------------------------------------------

    [Test]
    public void TryParseHead_SplitIntoTwoSegmentsAtEveryPosition_SameResultAsWhole()
    {
        // Arrange
        var bytes = Bytes(RealisticHead);
        var expected = ParseWhole(bytes);

        for (int split = 1; split < bytes.Length; split++)
        {
            var request = new HttpRequest();
            var sequence = Segment.Sequence(bytes.AsMemory(0, split), bytes.AsMemory(split));

            // Act
            bool complete = Parse(sequence, request, RequestLimits.Default, out long consumed);

            // Assert
            Assert.That(complete, Is.True, $"split at {split}: the head is complete but the parser asked for more");
            Assert.That(consumed, Is.EqualTo(bytes.Length), $"split at {split}: consumed");
            Assert.That(Snapshot.Of(request), Is.EqualTo(expected), $"split at {split}");
        }
    }

    [Test]
    public void TryParseHead_EveryByteInItsOwnSegment_SameResultAsWhole()
    {
        // Arrange
        var bytes = Bytes(RealisticHead);
        var expected = ParseWhole(bytes);
        var sequence = Segment.Sequence(Enumerable.Range(0, bytes.Length).Select(i => (ReadOnlyMemory<byte>)bytes.AsMemory(i, 1)).ToArray());
        var request = new HttpRequest();

        // Act
        bool complete = Parse(sequence, request, RequestLimits.Default, out long consumed);

        // Assert
        Assert.That(complete, Is.True);
        Assert.That(consumed, Is.EqualTo(bytes.Length));
        Assert.That(Snapshot.Of(request), Is.EqualTo(expected));
    }

    [Test]
    public void TryParseHead_FedOneByteAtATimeLikeTheConnection_SameResultAsWhole()
    {
        // Arrange
        var bytes = Bytes(RealisticHead);
        var expected = ParseWhole(bytes);
        var request = new HttpRequest();

        // Act
        var feed = FeedByteByByte(bytes, request, RequestLimits.Default);

        // Assert
        Assert.That(feed.CompletedAt, Is.EqualTo(bytes.Length - 1),
            $"the head should complete exactly on its last byte (index {bytes.Length - 1}); it completed at {feed.CompletedAt} (-1 = never)");
        Assert.That(feed.Unconsumed, Is.EqualTo(0), "every byte of the head should have been consumed");
        Assert.That(Snapshot.Of(request), Is.EqualTo(expected));
    }

    [Test]
    public void TryParseHead_FedInGrowingChunksAtEverySplit_SameResultAsWhole()
    {
        // Arrange: the first read delivers a prefix, the second the rest, with unconsumed bytes kept and re-fed.
        var bytes = Bytes(RealisticHead);
        var expected = ParseWhole(bytes);

        for (int split = 1; split < bytes.Length; split++)
        {
            var request = new HttpRequest();

            // Act
            bool firstComplete = Parse(new ReadOnlySequence<byte>(bytes, 0, split), request, RequestLimits.Default, out long consumed);
            var rest = bytes.AsMemory((int)consumed);
            bool secondComplete = Parse(new ReadOnlySequence<byte>(rest), request, RequestLimits.Default, out long consumed2);

            // Assert
            Assert.That(firstComplete, Is.False, $"split at {split}: a prefix must not complete the head");
            Assert.That(secondComplete, Is.True, $"split at {split}: the rest should complete the head");
            Assert.That(consumed + consumed2, Is.EqualTo(bytes.Length), $"split at {split}: consumed");
            Assert.That(Snapshot.Of(request), Is.EqualTo(expected), $"split at {split}");
        }
    }

    // ---- rejections ----------------------------------------------------------------------------------

    // Line terminators (RFC 9112 §2.2: this server refuses bare LF and bare CR).
    [TestCase("GET / HTTP/1.1\nHost: a\r\n\r\n", 400, TestName = "{m}(bare LF after request line)")]
    [TestCase("GET / HTTP/1.1\r\nHost: a\n\r\n", 400, TestName = "{m}(bare LF after header)")]
    [TestCase("GET / HTTP/1.1\r\nHost: a\r\n\n", 400, TestName = "{m}(bare LF as blank line)")]
    [TestCase("GET /\r HTTP/1.1\r\nHost: a\r\n\r\n", 400, TestName = "{m}(bare CR in request line)")]
    [TestCase("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", 400, TestName = "{m}(bare CR in header value)")]
    [TestCase("GET / HTTP/1.1\r\nHost: a\r\n\r\r\n", 400, TestName = "{m}(bare CR before blank line)")]
    // Header field syntax (RFC 9112 §5).
    [TestCase("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n", 400, TestName = "{m}(obs-fold with space)")]
    [TestCase("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n\tc\r\n\r\n", 400, TestName = "{m}(obs-fold with tab)")]
    [TestCase("GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400, TestName = "{m}(whitespace before first header)")]
    [TestCase("GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400, TestName = "{m}(space before colon)")]
    [TestCase("GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", 400, TestName = "{m}(tab before colon)")]
    [TestCase("GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", 400, TestName = "{m}(header without colon)")]
    [TestCase("GET / HTTP/1.1\r\nHost: a\r\n: v\r\n\r\n", 400, TestName = "{m}(empty header name)")]
    [TestCase("GET / HTTP/1.1\r\nHost: a\r\nX(A): v\r\n\r\n", 400, TestName = "{m}(non-token header name)")]
    [TestCase("GET / HTTP/1.1\r\nHost: a\r\nX-A: a\0b\r\n\r\n", 400, TestName = "{m}(NUL in value)")]
    [TestCase("GET / HTTP/1.1\r\nHost: a\r\nX-A: a\u0001b\r\n\r\n", 400, TestName = "{m}(SOH in value)")]
    [TestCase("GET / HTTP/1.1\r\nHost: a\r\nX-A: a\u001Bb\r\n\r\n", 400, TestName = "{m}(ESC in value)")]
    [TestCase("GET / HTTP/1.1\r\nHost: a\r\nX-A: a\u007Fb\r\n\r\n", 400, TestName = "{m}(DEL in value)")]
    [TestCase("GET / HTTP/1.1\r\nHost: a\r\nX\0A: b\r\n\r\n", 400, TestName = "{m}(NUL in name)")]
    // Request line (RFC 9112 §3).
    [TestCase("GE(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400, TestName = "{m}(method with parenthesis)")]
    [TestCase("G\"T / HTTP/1.1\r\nHost: a\r\n\r\n", 400, TestName = "{m}(method with quote)")]
    [TestCase("GET\u0001 / HTTP/1.1\r\nHost: a\r\n\r\n", 400, TestName = "{m}(method with control)")]
    [TestCase(" GET / HTTP/1.1\r\nHost: a\r\n\r\n", 400, TestName = "{m}(leading space)")]
    [TestCase("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400, TestName = "{m}(double space)")]
    [TestCase("GET /\r\nHost: a\r\n\r\n", 400, TestName = "{m}(no version)")]
    [TestCase("BREW / HTTP/1.1\r\nHost: a\r\n\r\n", 501, TestName = "{m}(unknown method BREW)")]
    [TestCase("get / HTTP/1.1\r\nHost: a\r\n\r\n", 501, TestName = "{m}(lower-case get)")]
    [TestCase("PROPFIND / HTTP/1.1\r\nHost: a\r\n\r\n", 501, TestName = "{m}(unknown method PROPFIND)")]
    // Version (RFC 9112 §2.3).
    [TestCase("GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505, TestName = "{m}(HTTP 2.0)")]
    [TestCase("GET / HTTP/1.2\r\nHost: a\r\n\r\n", 505, TestName = "{m}(HTTP 1.2)")]
    [TestCase("GET / HTTP/0.9\r\nHost: a\r\n\r\n", 505, TestName = "{m}(HTTP 0.9)")]
    [TestCase("GET / HTTP/3.0\r\nHost: a\r\n\r\n", 505, TestName = "{m}(HTTP 3.0)")]
    [TestCase("GET / HTTP/1.1x\r\nHost: a\r\n\r\n", 400, TestName = "{m}(version HTTP 1.1x)")]
    [TestCase("GET / http/1.1\r\nHost: a\r\n\r\n", 400, TestName = "{m}(lower-case version)")]
    [TestCase("GET / HTTP/1\r\nHost: a\r\n\r\n", 400, TestName = "{m}(version without minor)")]
    [TestCase("GET / HTTP/1.10\r\nHost: a\r\n\r\n", 400, TestName = "{m}(version 1.10)")]
    [TestCase("GET / HTTP/1.a\r\nHost: a\r\n\r\n", 400, TestName = "{m}(version letter)")]
    [TestCase("GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400, TestName = "{m}(trailing space after version)")]
    // Request target (RFC 9112 §3.2).
    [TestCase("GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", 400, TestName = "{m}(space in target)")]
    [TestCase("GET /a\u0001b HTTP/1.1\r\nHost: a\r\n\r\n", 400, TestName = "{m}(control in target)")]
    [TestCase("GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n", 400, TestName = "{m}(tab in target)")]
    [TestCase("GET /a\u007Fb HTTP/1.1\r\nHost: a\r\n\r\n", 400, TestName = "{m}(DEL in target)")]
    [TestCase("GET /caf\u00E9 HTTP/1.1\r\nHost: a\r\n\r\n", 400, TestName = "{m}(non-ASCII in target)")]
    [TestCase("GET /a#frag HTTP/1.1\r\nHost: a\r\n\r\n", 400, TestName = "{m}(fragment in target)")]
    [TestCase("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", 400, TestName = "{m}(asterisk-form)")]
    [TestCase("GET example.com/a HTTP/1.1\r\nHost: a\r\n\r\n", 400, TestName = "{m}(target without slash or scheme)")]
    [TestCase("GET http:///a HTTP/1.1\r\nHost: a\r\n\r\n", 400, TestName = "{m}(absolute-form without authority)")]
    [TestCase("GET ftp://example.com/a HTTP/1.1\r\nHost: a\r\n\r\n", 400, TestName = "{m}(absolute-form ftp scheme)")]
    // Host (RFC 9112 §3.2).
    [TestCase("GET / HTTP/1.1\r\n\r\n", 400, TestName = "{m}(HTTP 1.1 without Host)")]
    [TestCase("GET / HTTP/1.1\r\nX-A: b\r\n\r\n", 400, TestName = "{m}(HTTP 1.1 with headers but no Host)")]
    [TestCase("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, TestName = "{m}(two Host fields)")]
    [TestCase("GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n", 400, TestName = "{m}(two identical Host fields)")]
    [TestCase("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", 400, TestName = "{m}(two Host fields on HTTP 1.0)")]
    // Content-Length (RFC 9110 §8.6) and Transfer-Encoding (RFC 9112 §6).
    [TestCase("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400, TestName = "{m}(Content-Length -1)")]
    [TestCase("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n", 400, TestName = "{m}(Content-Length +5)")]
    [TestCase("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4 2\r\n\r\n", 400, TestName = "{m}(Content-Length 4 2)")]
    [TestCase("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: abc\r\n\r\n", 400, TestName = "{m}(Content-Length abc)")]
    [TestCase("POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", 400, TestName = "{m}(Content-Length empty)")]
    [TestCase("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5,5\r\n\r\n", 400, TestName = "{m}(Content-Length list)")]
    [TestCase("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x10\r\n\r\n", 400, TestName = "{m}(Content-Length hex)")]
    [TestCase("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1234567890123456789\r\n\r\n", 400, TestName = "{m}(Content-Length 19 digits)")]
    [TestCase("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", 400, TestName = "{m}(two Content-Length fields)")]
    [TestCase("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400, TestName = "{m}(two different Content-Length fields)")]
    [TestCase("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 400, TestName = "{m}(Transfer-Encoding then Content-Length)")]
    [TestCase("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400, TestName = "{m}(Content-Length then Transfer-Encoding)")]
    [TestCase("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400, TestName = "{m}(Transfer-Encoding chunked not last)")]
    [TestCase("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501, TestName = "{m}(Transfer-Encoding gzip chunked)")]
    [TestCase("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400, TestName = "{m}(Transfer-Encoding on HTTP 1.0)")]
    public void TryParseHead_MalformedHead_RejectedWithStatus(string head, int expectedStatus)
    {
        AssertRejectedEveryWay(head, expectedStatus, RequestLimits.Default);
    }

    [Test]
    public void TryParseHead_AuthorityFormConnect_Throws400()
    {
        // CONNECT is a known method, so this is not 501: its authority-form target serves no route here (400).
        AssertRejectedEveryWay("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", 400, RequestLimits.Default);
    }

    // ---- limits --------------------------------------------------------------------------------------

    [TestCase(SmallLine - 1, null)]
    [TestCase(SmallLine, null)]
    [TestCase(SmallLine + 1, 414)]
    [TestCase(SmallLine + 50, 414)]
    public void TryParseHead_RequestLineLength_RejectedOnlyOverTheLimit(int lineLength, int? expectedStatus)
    {
        // Arrange: "GET /aaa... HTTP/1.1\r\n" is exactly lineLength bytes, CRLF included.
        string line = "GET /" + new string('a', lineLength - 16) + " HTTP/1.1\r\n";
        Assert.That(line, Has.Length.EqualTo(lineLength), "test arithmetic");
        string head = line + "Host: a\r\n\r\n";

        // Act / Assert
        if (expectedStatus is int status)
        {
            AssertRejectedEveryWay(head, status, s_small);
        }
        else
        {
            AssertParsesEveryWay(head, s_small);
        }
    }

    [Test]
    public void TryParseHead_RequestLineOverLimitWithoutLineEnd_Rejected414()
    {
        // Arrange: no LF has arrived, yet no line that fits the limit can start like this.
        string partial = "GET /" + new string('a', SmallLine);

        // Act / Assert
        AssertRejectedEveryWay(partial, 414, s_small);
    }

    [Test]
    public void TryParseHead_RequestLineAtLimitMinusOneWithoutLineEnd_NeedsMore()
    {
        // Arrange: one more byte, an LF, could still complete a line of exactly the limit (its CR would be in place).
        string partial = "GET /" + new string('a', SmallLine - 16) + " HTTP/1.1\r";
        Assert.That(partial, Has.Length.EqualTo(SmallLine - 1), "test arithmetic");
        var request = new HttpRequest();

        // Act
        var outcome = Run(() => Parse(partial, request, s_small));

        // Assert
        Assert.That(outcome.ToString(), Is.EqualTo("needs more"));
    }

    [TestCase(SmallHeaders - 1, null)]
    [TestCase(SmallHeaders, null)]
    [TestCase(SmallHeaders + 1, 431)]
    [TestCase(SmallHeaders + 40, 431)]
    public void TryParseHead_HeaderSectionBytes_RejectedOnlyOverTheLimit(int sectionLength, int? expectedStatus)
    {
        // Arrange: "Host: a\r\n" + "X-Pad: ppp...\r\n" + "\r\n" is exactly sectionLength bytes.
        string section = "Host: a\r\nX-Pad: " + new string('p', sectionLength - 20) + "\r\n\r\n";
        Assert.That(section, Has.Length.EqualTo(sectionLength), "test arithmetic");
        string head = "GET / HTTP/1.1\r\n" + section;

        // Act / Assert
        if (expectedStatus is int status)
        {
            AssertRejectedEveryWay(head, status, s_small);
        }
        else
        {
            AssertParsesEveryWay(head, s_small);
        }
    }

    [Test]
    public void TryParseHead_HeaderBytesOverLimitWithoutLineEnd_Rejected431()
    {
        // Arrange
        string partial = "GET / HTTP/1.1\r\nHost: a\r\nX-Pad: " + new string('p', SmallHeaders);

        // Act / Assert
        AssertRejectedEveryWay(partial, 431, s_small);
    }

    [Test]
    public void TryParseHead_ManySmallHeadersOverByteLimit_Rejected431()
    {
        // Arrange: no single line is long; together they exceed the section limit (count limit raised out of the way).
        var limits = new RequestLimits(SmallLine, SmallHeaders, MaxHeaderCount: 1000);
        var head = new StringBuilder("GET / HTTP/1.1\r\nHost: a\r\n");
        for (int i = 0; i < 20; i++)
        {
            head.Append(CultureInvariant($"X-{i:D2}: v\r\n"));
        }

        head.Append("\r\n");

        // Act / Assert
        AssertRejectedEveryWay(head.ToString(), 431, limits);
    }

    [TestCase(SmallCount, null)]
    [TestCase(SmallCount + 1, 431)]
    [TestCase(SmallCount + 10, 431)]
    public void TryParseHead_HeaderCount_RejectedOnlyOverTheLimit(int fieldCount, int? expectedStatus)
    {
        // Arrange: Host plus (fieldCount - 1) short fields, well under the byte limit.
        var limits = new RequestLimits(SmallLine, MaxHeaderBytes: 4096, SmallCount);
        var head = new StringBuilder("GET / HTTP/1.1\r\nHost: a\r\n");
        for (int i = 1; i < fieldCount; i++)
        {
            head.Append(CultureInvariant($"X-{i}: v\r\n"));
        }

        head.Append("\r\n");

        // Act / Assert
        if (expectedStatus is int status)
        {
            AssertRejectedEveryWay(head.ToString(), status, limits);
        }
        else
        {
            AssertParsesEveryWay(head.ToString(), limits);
        }
    }

    // ---- helpers -------------------------------------------------------------------------------------

    private static byte[] Bytes(string text) => Encoding.Latin1.GetBytes(text);

    private static string CultureInvariant(FormattableString text) => FormattableString.Invariant(text);

    private static bool Parse(string head, HttpRequest request) => Parse(head, request, RequestLimits.Default);

    private static bool Parse(string head, HttpRequest request, RequestLimits limits) =>
        Parse(new ReadOnlySequence<byte>(Bytes(head)), request, limits, out _);

    private static bool Parse(ReadOnlySequence<byte> sequence, HttpRequest request, RequestLimits limits, out long consumed)
    {
        var reader = new SequenceReader<byte>(sequence);
        bool complete = RequestParser.TryParseHead(ref reader, request, limits);
        consumed = reader.Consumed;
        return complete;
    }

    private static Snapshot ParseWhole(byte[] bytes)
    {
        var request = new HttpRequest();
        bool complete = Parse(new ReadOnlySequence<byte>(bytes), request, RequestLimits.Default, out long consumed);
        Assert.That(complete && consumed == bytes.Length, Is.True, $"the whole head should parse in one call (complete={complete}, consumed={consumed} of {bytes.Length})");
        return Snapshot.Of(request);
    }

    /// <summary>
    /// Feeds the head the way <c>Connection</c> does: each call sees the bytes not yet consumed plus one new byte,
    /// with the same <see cref="HttpRequest"/> carrying the parser's progress. Stops at completion.
    /// </summary>
    private static (int CompletedAt, int Unconsumed) FeedByteByByte(byte[] head, HttpRequest request, RequestLimits limits)
    {
        var pending = new List<byte>();
        for (int i = 0; i < head.Length; i++)
        {
            pending.Add(head[i]);
            bool complete = Parse(new ReadOnlySequence<byte>(pending.ToArray()), request, limits, out long consumed);
            pending.RemoveRange(0, (int)consumed);
            if (complete)
            {
                return (i, pending.Count);
            }
        }

        return (-1, pending.Count);
    }

    private static void AssertParsesEveryWay(string head, RequestLimits limits)
    {
        var bytes = Bytes(head);
        var whole = Run(() => Parse(new ReadOnlySequence<byte>(bytes), new HttpRequest(), limits, out _));
        Assert.That(whole.ToString(), Is.EqualTo("parsed"), $"whole '{Escape(head)}'");

        var byteByByte = Run(() => FeedByteByByte(bytes, new HttpRequest(), limits).CompletedAt == bytes.Length - 1);
        Assert.That(byteByByte.ToString(), Is.EqualTo("parsed"), $"byte by byte '{Escape(head)}'");
    }

    /// <summary>The same status whether the head arrives whole, one byte per read, or split in two segments anywhere.</summary>
    private static void AssertRejectedEveryWay(string head, int expectedStatus, RequestLimits limits)
    {
        var bytes = Bytes(head);
        string expected = $"rejected {expectedStatus}";

        var whole = Run(() => Parse(new ReadOnlySequence<byte>(bytes), new HttpRequest(), limits, out _));
        Assert.That(whole.Verdict, Is.EqualTo(expected), $"whole '{Escape(head)}': {whole}");

        var byteByByte = Run(() => FeedByteByByte(bytes, new HttpRequest(), limits).CompletedAt >= 0);
        Assert.That(byteByByte.Verdict, Is.EqualTo(expected), $"byte by byte '{Escape(head)}': {byteByByte}");

        for (int split = 1; split < bytes.Length; split++)
        {
            var sequence = Segment.Sequence(bytes.AsMemory(0, split), bytes.AsMemory(split));
            var segmented = Run(() => Parse(sequence, new HttpRequest(), limits, out _));
            Assert.That(segmented.Verdict, Is.EqualTo(expected), $"split at {split} '{Escape(head)}': {segmented}");
        }
    }

    private static Outcome Run(Func<bool> parse)
    {
        try
        {
            return new Outcome(parse(), null, "");
        }
        catch (BadRequestException ex)
        {
            return new Outcome(null, ex.StatusCode, ex.Message);
        }
    }

    private static string Escape(string text)
    {
        var sb = new StringBuilder(text.Length);
        foreach (char c in text)
        {
            sb.Append(c switch
            {
                '\r' => "\\r",
                '\n' => "\\n",
                '\t' => "\\t",
                < ' ' or >= '\u007F' => CultureInvariant($"\\x{(int)c:X2}"),
                _ => c.ToString(),
            });
        }

        return sb.ToString();
    }

    private readonly record struct Outcome(bool? Complete, int? Status, string Reason)
    {
        public string Verdict => Status is int s ? $"rejected {s}" : Complete == true ? "parsed" : "needs more";

        public override string ToString() => Status is null ? Verdict : $"{Verdict} ({Reason})";
    }

    /// <summary>Every field a parse produces, so two parses compare with one equality and print readably.</summary>
    private sealed record Snapshot(
        RequestMethod Method, string Target, string Path, string Query, int MinorVersion, int HostCount, string? Host,
        long ContentLength, string? TransferEncoding, bool ConnectionClose, bool ConnectionKeepAlive, bool KeepAlive,
        string? IfNoneMatch, string? IfModifiedSince, string? LastEventId, string? Authorization, string? ContentType,
        int HeaderCount, int HeaderBytes)
    {
        public static Snapshot Of(HttpRequest r) => new(
            r.Method, r.Target, r.Path, r.Query, r.MinorVersion, r.HostCount, r.Host,
            r.ContentLength, r.TransferEncoding, r.ConnectionClose, r.ConnectionKeepAlive, r.KeepAlive,
            r.IfNoneMatch, r.IfModifiedSince, r.LastEventId, r.Authorization, r.ContentType,
            r.HeaderCount, r.HeaderBytes);
    }

    /// <summary>A minimal segment to build multi-segment sequences, as a socket read split across buffers produces.</summary>
    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        private Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public static ReadOnlySequence<byte> Sequence(params ReadOnlyMemory<byte>[] parts)
        {
            var first = new Segment(parts[0], 0);
            var last = first;
            foreach (var part in parts.AsSpan(1))
            {
                var next = new Segment(part, last.RunningIndex + last.Memory.Length);
                last.Next = next;
                last = next;
            }

            return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
        }
    }
}
