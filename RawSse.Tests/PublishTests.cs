using System.Net;
using System.Net.ServerSentEvents;
using System.Text;
using RawSse.Http;
using RawSse.Publishing;
using RawSse.Sse;

namespace RawSse.Tests;

/// <summary>
/// <c>POST /publish</c> on the wire: Mercure's form fields in, the event's id out, the exact frame on a stream;
/// bearer-token and loopback authorisation; malformed, oversized and mistyped bodies; keep-alive after a refusal;
/// and forgery attempts that must not smuggle an extra event into a stream.
/// </summary>
[TestFixture]
public sealed class PublishTests
{
    private const string Token = "s3cret";
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan SettleTimeout = TimeSpan.FromSeconds(5);

    // ---- the happy path ---------------------------------------------------------------------------------

    // A form published to the stream's topic: 200 with the event's id as a text/plain body (the given id, else an
    // assigned integer), and exactly this frame on the stream, {id} standing for that id. Each case keeps its old name.
    [TestCase("topic=a&data=hello", null, "id: {id}\ndata: hello\n\n", TestName = "Publish_NoTokenFromLoopback_Returns200WithAssignedIdAndStreamGetsExactFrame")]
    [TestCase("topic=a&id=evt-42&data=hello", "evt-42", "id: evt-42\ndata: hello\n\n", TestName = "Publish_IdGiven_BodyIsThatIdAndFrameCarriesIt")]
    [TestCase("topic=a&type=update&data=hello", null, "id: {id}\nevent: update\ndata: hello\n\n", TestName = "Publish_TypeGiven_FrameHasEventLine")]
    public async Task Publish_Form_Returns200WithIdAndStreamGetsExactFrame(string form, string? givenId, string expectedFrame)
    {
        // Arrange
        await using var server = TestServer.StartWithoutHeartbeats();
        using var stream = await SseStream.OpenStreamAsync(server, "/sse?topic=a", ReadTimeout, waitForSubscriber: true);
        using var publisher = await server.ConnectAsync();

        // Act
        var response = await PublishAsync(publisher, form);
        string frame = await stream.ReadUntilAsync("\n\n", ReadTimeout);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(response.Status, Is.EqualTo(200), Describe.Response(response));
            Assert.That(Header(response, "Content-Type"), Does.StartWith("text/plain"), Describe.Response(response));
            if (givenId is null)
            {
                Assert.That(response.BodyText, Is.EqualTo($"{server.Hub.Epoch}-1"), "the body is exactly the assigned id, the hub's first");
            }
            else
            {
                Assert.That(response.BodyText, Is.EqualTo(givenId), "the body is exactly the given id");
            }

            Assert.That(Describe.Escape(frame), Is.EqualTo(Describe.Escape(expectedFrame.Replace("{id}", response.BodyText, StringComparison.Ordinal))));
        });
    }

    [Test]
    public async Task Publish_Retry5000_FrameHasRetryLine()
    {
        // Arrange
        await using var server = TestServer.StartWithoutHeartbeats();
        using var stream = await SseStream.OpenStreamAsync(server, "/sse?topic=a", ReadTimeout, waitForSubscriber: true);
        using var publisher = await server.ConnectAsync();

        // Act
        var response = await PublishAsync(publisher, Form(("topic", "a"), ("retry", "5000"), ("data", "hello")));
        string frame = await stream.ReadUntilAsync("\n\n", ReadTimeout);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(response.Status, Is.EqualTo(200), Describe.Response(response));
            Assert.That(Describe.Escape(frame), Is.EqualTo(Describe.Escape($"retry: 5000\nid: {response.BodyText}\ndata: hello\n\n")));
            Assert.That(SseStream.Parse(frame, out var retry), Has.Count.EqualTo(1));
            Assert.That(retry, Is.EqualTo(TimeSpan.FromMilliseconds(5000)), "a client's parser takes the retry");
        });
    }

    [Test]
    public async Task Publish_DataWithLfCrLfAndCr_FrameHasOneDataLinePerLine()
    {
        // Arrange
        await using var server = TestServer.StartWithoutHeartbeats();
        using var stream = await SseStream.OpenStreamAsync(server, "/sse?topic=a", ReadTimeout, waitForSubscriber: true);
        using var publisher = await server.ConnectAsync();

        // Act: "a\nb\r\nc\rd", percent-encoded.
        var response = await PublishAsync(publisher, "topic=a&data=a%0Ab%0D%0Ac%0Dd");
        string frame = await stream.ReadUntilAsync("\n\n", ReadTimeout);

        // Assert
        var events = SseStream.Parse(frame, out _);
        Assert.Multiple(() =>
        {
            Assert.That(response.Status, Is.EqualTo(200), Describe.Response(response));
            Assert.That(Describe.Escape(frame),
                Is.EqualTo(Describe.Escape($"id: {response.BodyText}\ndata: a\ndata: b\ndata: c\ndata: d\n\n")));
            // The spec joins data lines with LF: every line break arrives as LF.
            Assert.That(events.Select(e => Describe.Escape(e.Data)), Is.EqualTo(new[] { Describe.Escape("a\nb\nc\nd") }));
        });
    }

    // ---- authorisation --------------------------------------------------------------------------------

    [TestCase(null, TestName = "Publish_TokenConfiguredNoAuthorization_Returns401WithBearerChallenge")]
    [TestCase("Bearer wrong!")]
    [TestCase("Bearer s3creT")]
    [TestCase("Bearer s3cret-but-longer")]
    [TestCase("Bearer s3c")]
    [TestCase("Bearer ")]
    [TestCase("Basic s3cret")]
    [TestCase("s3cret")]
    public async Task Publish_TokenConfiguredWrongCredentials_Returns401(string? authorization)
    {
        // Arrange
        await using var server = TestServer.StartWithoutHeartbeats(o => o.PublishToken = Token);
        using var publisher = await server.ConnectAsync();

        // Act
        var response = await PublishAsync(publisher, Form(("topic", "a"), ("data", "x")), authorization);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(response.Status, Is.EqualTo(401), Describe.Response(response));
            Assert.That(Header(response, "WWW-Authenticate"), Is.EqualTo("Bearer"), Describe.Response(response));
            Assert.That(server.Server.Metrics.EventsPublished, Is.Zero, "a refused publish publishes nothing");
        });
    }

    [TestCase("Bearer s3cret")]
    [TestCase("bearer s3cret")]
    [TestCase("BEARER s3cret")]
    public async Task Publish_TokenConfiguredRightToken_Returns200(string authorization)
    {
        // Arrange
        await using var server = TestServer.StartWithoutHeartbeats(o => o.PublishToken = Token);
        using var stream = await SseStream.OpenStreamAsync(server, "/sse?topic=a", ReadTimeout, waitForSubscriber: true);
        using var publisher = await server.ConnectAsync();

        // Act
        var response = await PublishAsync(publisher, Form(("topic", "a"), ("data", "x")), authorization);
        string frame = await stream.ReadUntilAsync("\n\n", ReadTimeout);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(response.Status, Is.EqualTo(200), Describe.Response(response));
            Assert.That(Describe.Escape(frame), Is.EqualTo(Describe.Escape($"id: {response.BodyText}\ndata: x\n\n")));
        });
    }

    [TestCase("192.0.2.10")]
    [TestCase("10.0.0.1")]
    [TestCase("2001:db8::1")]
    [TestCase("::ffff:192.0.2.10")]
    public async Task Authorize_NoTokenNonLoopback_Returns403(string address)
    {
        // Arrange: no socket is opened to the address; the decision is asked for directly.
        var authorizer = new PublishAuthorizer(token: null);
        var request = new HttpRequest();

        // Act
        int denied = (await authorizer.AuthorizeAsync(request, IPAddress.Parse(address))).Status;

        // Assert
        Assert.That(denied, Is.EqualTo(403), $"remote {address}");
    }

    [TestCase("127.0.0.1")]
    [TestCase("::1")]
    [TestCase("::ffff:127.0.0.1")]
    public async Task Authorize_NoTokenLoopback_Returns0(string address)
    {
        // Arrange
        var authorizer = new PublishAuthorizer(token: null);
        var request = new HttpRequest();

        // Act
        int denied = (await authorizer.AuthorizeAsync(request, IPAddress.Parse(address))).Status;

        // Assert
        Assert.That(denied, Is.Zero, $"remote {address}");
    }

    [Test]
    public async Task Authorize_NoTokenWellKnownLoopbacks_Return0()
    {
        // Arrange
        var authorizer = new PublishAuthorizer(token: null);
        var request = new HttpRequest();

        // Act
        int v4 = (await authorizer.AuthorizeAsync(request, IPAddress.Loopback)).Status;
        int v6 = (await authorizer.AuthorizeAsync(request, IPAddress.IPv6Loopback)).Status;

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(v4, Is.Zero, "IPAddress.Loopback");
            Assert.That(v6, Is.Zero, "IPAddress.IPv6Loopback");
        });
    }

    [Test]
    public async Task Authorize_TokenConfiguredNonLoopback_TokenDecides()
    {
        // Arrange: with a token, the address no longer matters.
        var authorizer = new PublishAuthorizer(Token);
        var remote = IPAddress.Parse("192.0.2.10");
        var right = new HttpRequest { Authorization = "Bearer " + Token };
        var wrong = new HttpRequest { Authorization = "Bearer nope" };

        // Act
        int rightResult = (await authorizer.AuthorizeAsync(right, remote)).Status;
        int wrongResult = (await authorizer.AuthorizeAsync(wrong, remote)).Status;

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(rightResult, Is.Zero, "the right token from anywhere");
            Assert.That(wrongResult, Is.EqualTo(401), "a wrong token from anywhere");
        });
    }

    // ---- refused bodies ---------------------------------------------------------------------------------

    // The form is parsed as WHATWG's urlencoded parser does (raw spaces, raw UTF-8 and a '%' that starts no escape are
    // kept; see RequestBodyTests): what it refuses is a field that is not UTF-8 once decoded.
    [TestCase("topic=%C0%AE", TestName = "Publish_MalformedForm_Returns400(invalid UTF-8)")]
    [TestCase("topic=a&data=%FF%FE", TestName = "Publish_MalformedForm_Returns400(invalid UTF-8 in data)")]
    [TestCase("topic=a&data=%ED%A0%80", TestName = "Publish_MalformedForm_Returns400(UTF-8 surrogate)")]
    public async Task Publish_MalformedForm_Returns400(string body)
    {
        await AssertRefusedWith400Async(body);
    }

    [TestCase("data=x")]
    [TestCase("")]
    [TestCase("topic=&data=x")]
    [TestCase("data=x&id=1&type=t&retry=5")]
    public async Task Publish_NoTopic_Returns400(string body)
    {
        await AssertRefusedWith400Async(body);
    }

    [TestCase("a%0A")]
    [TestCase("a%0Db")]
    [TestCase("%00")]
    [TestCase("a%09b")]
    [TestCase("a%7F")]
    public async Task Publish_TopicWithControlCharacter_Returns400(string encodedTopic)
    {
        await AssertRefusedWith400Async($"topic={encodedTopic}&data=x");
    }

    [TestCase("")]
    [TestCase("-1")]
    [TestCase("5s")]
    [TestCase("1234567890")]
    [TestCase("%EF%BC%95")] // a full-width digit 5: a digit to char.IsDigit, not an ASCII one
    public async Task Publish_RetryNotAsciiDigits_Returns400(string encodedRetry)
    {
        // Arrange
        await using var server = TestServer.StartWithoutHeartbeats();
        using var publisher = await server.ConnectAsync();

        // Act
        var response = await PublishAsync(publisher, $"topic=a&data=x&retry={encodedRetry}");

        // Assert
        Assert.That(response.Status, Is.EqualTo(400), Describe.Response(response));
    }

    [Test]
    public async Task Publish_BodyOverLimit_Returns413AndCloses()
    {
        // Arrange
        await using var server = TestServer.StartWithoutHeartbeats(o => o.MaxPublishBodyBytes = 1024);
        using var publisher = await server.ConnectAsync();
        string body = "topic=a&data=" + new string('x', 2048 - "topic=a&data=".Length);
        Assert.That(Encoding.ASCII.GetByteCount(body), Is.EqualTo(2048));

        // Act
        await publisher.SendAsync(Publishing.Request(body));
        var response = await publisher.ReadResponseAsync(timeout: ReadTimeout);
        bool closed = await publisher.WaitForCloseAsync(ReadTimeout);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(response.Status, Is.EqualTo(413), Describe.Response(response));
            Assert.That(Header(response, "Connection"), Is.EqualTo("close"), Describe.Response(response));
            Assert.That(closed, Is.True, "the server closes a connection whose body it will not read");
            Assert.That(server.Server.Metrics.EventsPublished, Is.Zero, "a refused publish publishes nothing");
        });
    }

    [Test]
    public async Task Publish_BodyExactlyAtLimit_Returns200()
    {
        // Arrange
        await using var server = TestServer.StartWithoutHeartbeats(o => o.MaxPublishBodyBytes = 1024);
        using var publisher = await server.ConnectAsync();
        string body = "topic=a&data=" + new string('x', 1024 - "topic=a&data=".Length);

        // Act
        var response = await PublishAsync(publisher, body);

        // Assert
        Assert.That(response.Status, Is.EqualTo(200), Describe.Response(response));
    }

    [TestCase("application/json")]
    [TestCase("text/plain")]
    [TestCase("multipart/form-data; boundary=x")]
    [TestCase(null)]
    public async Task Publish_NotFormContentType_Returns415(string? contentType)
    {
        // Arrange
        await using var server = TestServer.StartWithoutHeartbeats();
        using var publisher = await server.ConnectAsync();

        // Act
        var response = await PublishAsync(publisher, "topic=a&data=x", contentType: contentType);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(response.Status, Is.EqualTo(415), Describe.Response(response));
            Assert.That(server.Server.Metrics.EventsPublished, Is.Zero, "a refused publish publishes nothing");
        });
    }

    [TestCase("application/x-www-form-urlencoded; charset=utf-8")]
    [TestCase("Application/X-WWW-Form-UrlEncoded")]
    public async Task Publish_FormContentTypeVariant_Returns200(string contentType)
    {
        // Arrange
        await using var server = TestServer.StartWithoutHeartbeats();
        using var publisher = await server.ConnectAsync();

        // Act
        var response = await PublishAsync(publisher, "topic=a&data=x", contentType: contentType);

        // Assert
        Assert.That(response.Status, Is.EqualTo(200), Describe.Response(response));
    }

    [TestCase("GET")]
    [TestCase("PUT")]
    [TestCase("DELETE")]
    public async Task Publish_MethodNotPost_Returns405WithAllowPost(string method)
    {
        // Arrange
        await using var server = TestServer.StartWithoutHeartbeats();
        using var client = await server.ConnectAsync();

        // Act
        await client.SendAsync($"{method} /publish HTTP/1.1\r\nHost: test\r\n\r\n");
        var response = await client.ReadResponseAsync(timeout: ReadTimeout);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(response.Status, Is.EqualTo(405), Describe.Response(response));
            Assert.That(Header(response, "Allow"), Is.EqualTo("POST"), Describe.Response(response));
        });
    }

    [Test]
    public async Task Publish_HeadMethod_Returns405WithoutBody()
    {
        // Arrange: a second request on the same connection shows whether the HEAD answer carried a body.
        await using var server = TestServer.StartWithoutHeartbeats();
        using var client = await server.ConnectAsync();

        // Act
        await client.SendAsync("HEAD /publish HTTP/1.1\r\nHost: test\r\n\r\nGET /publish HTTP/1.1\r\nHost: test\r\n\r\n");
        var headResponse = await client.ReadResponseAsync(expectBody: false, ReadTimeout);
        string next = await client.ReadUntilAsync("\r\n", ReadTimeout);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(headResponse.Status, Is.EqualTo(405), Describe.Response(headResponse));
            Assert.That(Header(headResponse, "Allow"), Is.EqualTo("POST"), Describe.Response(headResponse));
            // RFC 9110 §9.3.2: the server MUST NOT send content in the response to HEAD.
            Assert.That(Describe.Escape(next), Does.StartWith("HTTP/1.1 405"),
                "the bytes after the HEAD response's head must be the next response, not a body");
        });
    }

    // ---- keep-alive -------------------------------------------------------------------------------------

    [Test]
    public async Task Publish_TwoOnOneConnection_BothReturn200()
    {
        // Arrange
        await using var server = TestServer.StartWithoutHeartbeats();
        using var stream = await SseStream.OpenStreamAsync(server, "/sse?topic=a", ReadTimeout, waitForSubscriber: true);
        using var publisher = await server.ConnectAsync();

        // Act
        var first = await PublishAsync(publisher, Form(("topic", "a"), ("data", "one")));
        var second = await PublishAsync(publisher, Form(("topic", "a"), ("data", "two")));
        string frames = await stream.ReadUntilAsync("data: two\n\n", ReadTimeout);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(first.Status, Is.EqualTo(200), Describe.Response(first));
            Assert.That(second.Status, Is.EqualTo(200), Describe.Response(second));
            Assert.That(first.Headers.ContainsKey("Connection"), Is.False, $"no Connection: close on a kept-alive answer: {Describe.Response(first)}");
            Assert.That(Describe.Escape(frames),
                Is.EqualTo(Describe.Escape($"id: {first.BodyText}\ndata: one\n\nid: {second.BodyText}\ndata: two\n\n")));
        });
    }

    [Test]
    public async Task Publish_TwoPipelinedInOneWrite_BothAnsweredInOrder()
    {
        // Arrange
        await using var server = TestServer.StartWithoutHeartbeats();
        using var publisher = await server.ConnectAsync();
        byte[] both = [.. Publishing.Request(Form(("topic", "a"), ("id", "first"))), .. Publishing.Request(Form(("topic", "a"), ("id", "second")))];

        // Act
        await publisher.SendAsync(both);
        var first = await publisher.ReadResponseAsync(timeout: ReadTimeout);
        var second = await publisher.ReadResponseAsync(timeout: ReadTimeout);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That((first.Status, first.BodyText), Is.EqualTo((200, "first")), Describe.Response(first));
            Assert.That((second.Status, second.BodyText), Is.EqualTo((200, "second")), Describe.Response(second));
        });
    }

    [Test]
    public async Task Publish_RejectedWith401AndBody_AnsweredAndClosedNothingMoreParsed()
    {
        // Arrange: the refused request and the next one leave in one write; the refusal is decided from the head, the
        // body is never read, and the connection closes, so nothing behind it is parsed (no more guesses on it).
        await using var server = TestServer.StartWithoutHeartbeats(o => o.PublishToken = Token);
        using var publisher = await server.ConnectAsync();
        byte[] both =
        [
            .. Publishing.Request(Form(("topic", "a"), ("data", "refused"))),
            .. Publishing.Request(Form(("topic", "a"), ("data", "accepted")), "Bearer " + Token),
        ];

        // Act
        await publisher.SendAsync(both);
        var refused = await publisher.ReadResponseAsync(timeout: ReadTimeout);
        var rest = await publisher.ReadEndAsync(ReadTimeout);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(refused.Status, Is.EqualTo(401), Describe.Response(refused));
            Assert.That(Header(refused, "Connection"), Is.EqualTo("close"), Describe.Response(refused));
            Assert.That(rest.End, Is.Not.EqualTo(ReadEnd.Timeout), "the server closed the connection");
            Assert.That(rest.Bytes, Is.Empty, $"nothing after the refusal: {Describe.Arrived(rest.Bytes)}");
            Assert.That(server.Server.Metrics.EventsPublished, Is.Zero, "nothing was published");
        });
    }

    [Test]
    public async Task Publish_RejectedWith415AndBody_NextRequestOnConnectionParses()
    {
        // Arrange
        await using var server = TestServer.StartWithoutHeartbeats();
        using var publisher = await server.ConnectAsync();
        byte[] both =
        [
            .. Publishing.Request("{\"topic\":\"a\",\"data\":\"x\"}", contentType: "application/json"),
            .. Publishing.Request(Form(("topic", "a"), ("data", "accepted"))),
        ];

        // Act
        await publisher.SendAsync(both);
        var refused = await publisher.ReadResponseAsync(timeout: ReadTimeout);
        var accepted = await publisher.ReadResponseAsync(timeout: ReadTimeout);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(refused.Status, Is.EqualTo(415), Describe.Response(refused));
            Assert.That(accepted.Status, Is.EqualTo(200), Describe.Response(accepted));
        });
    }

    // ---- forgery ----------------------------------------------------------------------------------------

    private static IEnumerable<TestCaseData> ForgeryAttempts()
    {
        yield return new TestCaseData(Form(("topic", "a"), ("data", "x"), ("type", "x\ndata: forged"))).SetArgDisplayNames("type with LF");
        yield return new TestCaseData(Form(("topic", "a"), ("data", "x"), ("id", "1\nevent: evil"))).SetArgDisplayNames("id with LF");
        yield return new TestCaseData("topic=a&data=x&type=x%0Ddata%3A%20forged").SetArgDisplayNames("type with CR");
        yield return new TestCaseData("topic=a&data=x&id=1%0D%0Aevent%3A%20evil").SetArgDisplayNames("id with CRLF");
        yield return new TestCaseData("topic=a&data=x&id=1%00").SetArgDisplayNames("id with NUL");
        yield return new TestCaseData("topic=a&data=x&type=t%00").SetArgDisplayNames("type with NUL");
        yield return new TestCaseData("topic=a%0Aevent%3A%20x&data=x").SetArgDisplayNames("topic with LF");
        yield return new TestCaseData("topic=a&topic=a%0Aevent%3A%20x&data=x").SetArgDisplayNames("one good topic, one forged");
        yield return new TestCaseData("topic=a&data=x&retry=1%0Adata%3A%20forged").SetArgDisplayNames("retry with LF");
    }

    [TestCaseSource(nameof(ForgeryAttempts))]
    public async Task Publish_ForgeryAttempt_Returns400AndStreamGetsNothingExtra(string body)
    {
        // Arrange
        await using var server = TestServer.StartWithoutHeartbeats();
        using var stream = await SseStream.OpenStreamAsync(server, "/sse?topic=a", ReadTimeout, waitForSubscriber: true);
        using var publisher = await server.ConnectAsync();

        // Act: the attempt, then a legitimate sentinel; whatever the stream receives up to the sentinel is all that got through.
        var attempt = await PublishAsync(publisher, body);
        var sentinel = await PublishAsync(publisher, Form(("topic", "a"), ("data", "ok")));
        string received = await stream.ReadUntilAsync("data: ok\n\n", ReadTimeout);

        // Assert
        var events = SseStream.Parse(received, out _);
        Assert.Multiple(() =>
        {
            Assert.That(attempt.Status, Is.EqualTo(400), Describe.Response(attempt));
            Assert.That(sentinel.Status, Is.EqualTo(200), Describe.Response(sentinel));
            Assert.That(events.Select(Show), Is.EqualTo(new[] { Show("message", "ok", sentinel.BodyText) }), $"stream received: {Describe.Escape(received)}");
            Assert.That(Describe.Escape(received), Is.EqualTo(Describe.Escape($"id: {sentinel.BodyText}\ndata: ok\n\n")));
        });
    }

    [Test]
    public async Task Publish_AllForgeryAttemptsInARow_StreamReceivesOnlyTheLegitimateEvent()
    {
        // Arrange
        await using var server = TestServer.StartWithoutHeartbeats();
        using var stream = await SseStream.OpenStreamAsync(server, "/sse?topic=a", ReadTimeout, waitForSubscriber: true);
        using var publisher = await server.ConnectAsync();
        var attempts = ForgeryAttempts().Select(c => (string)c.Arguments[0]!).ToList();

        // Act
        var statuses = new List<int>();
        foreach (var body in attempts)
        {
            statuses.Add((await PublishAsync(publisher, body)).Status);
        }

        var sentinel = await PublishAsync(publisher, Form(("topic", "a"), ("data", "ok")));
        string received = await stream.ReadUntilAsync("data: ok\n\n", ReadTimeout);

        // Assert
        var events = SseStream.Parse(received, out _);
        Assert.Multiple(() =>
        {
            Assert.That(statuses, Is.All.EqualTo(400), $"statuses for {string.Join(" | ", attempts)}");
            Assert.That(sentinel.Status, Is.EqualTo(200), Describe.Response(sentinel));
            Assert.That(events.Select(Show), Is.EqualTo(new[] { Show("message", "ok", sentinel.BodyText) }), $"stream received: {Describe.Escape(received)}");
            Assert.That(server.Server.Metrics.EventsPublished, Is.EqualTo(1), "only the sentinel was published");
        });
    }

    // ---- the in-process API -----------------------------------------------------------------------------

    [Test]
    public async Task HubPublish_TypeWithCarriageReturn_ThrowsArgumentException()
    {
        // Arrange
        await using var server = TestServer.StartWithoutHeartbeats();

        // Act / Assert
        Assert.That(() => server.Hub.Publish("a", new SseEvent("x", type: "t\r")), Throws.InstanceOf<ArgumentException>());
    }

    [TestCase("")]
    [TestCase("a\nb")]
    public async Task HubPublish_InvalidTopic_ThrowsArgumentException(string topic)
    {
        // Arrange
        await using var server = TestServer.StartWithoutHeartbeats();
        var ev = new SseEvent("x");

        // Act / Assert
        Assert.Multiple(() =>
        {
            Assert.That(() => server.Hub.Publish(topic, ev), Throws.InstanceOf<ArgumentException>());
            Assert.That(server.Server.Metrics.EventsPublished, Is.Zero, "nothing was published");
        });
    }

    [Test]
    public async Task HubPublish_NoTopics_ThrowsArgumentException()
    {
        // Arrange
        await using var server = TestServer.StartWithoutHeartbeats();

        // Act / Assert
        Assert.That(() => server.Hub.Publish(Array.Empty<string>(), new SseEvent("x")), Throws.InstanceOf<ArgumentException>());
    }

    // ---- helpers ----------------------------------------------------------------------------------------

    private static Task<HttpResponse> PublishAsync(RawClient client, string body, string? authorization = null, string? contentType = Publishing.FormContentType) =>
        Publishing.SendAsync(client, body, ReadTimeout, authorization, contentType);

    private static string Form(params (string Name, string Value)[] fields) =>
        string.Join('&', fields.Select(f => $"{Uri.EscapeDataString(f.Name)}={Uri.EscapeDataString(f.Value)}"));

    private static string Show(SseItem<string> item) => Show(item.EventType, item.Data, item.EventId);

    private static string Show(string type, string data, string? id) => Describe.Escape($"[{type}] id={id} data={data}");

    private static string? Header(HttpResponse response, string name) => response.Headers.GetValueOrDefault(name);


    // Arrange, act and assert for a form the endpoint must refuse: 400, and nothing published.
    private static async Task AssertRefusedWith400Async(string body)
    {
        await using var server = TestServer.StartWithoutHeartbeats();
        using var publisher = await server.ConnectAsync();

        var response = await PublishAsync(publisher, body);

        Assert.Multiple(() =>
        {
            Assert.That(response.Status, Is.EqualTo(400), Describe.Response(response));
            Assert.That(server.Server.Metrics.EventsPublished, Is.Zero, "a refused publish publishes nothing");
        });
    }
}
