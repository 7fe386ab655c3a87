using System.Globalization;
using System.Net;
using System.Net.ServerSentEvents;
using System.Text.Json;
using RawSse.Sse;

namespace RawSse.Tests;

/// <summary>
/// The stream as a .NET application reads it: HttpClient with ResponseHeadersRead, parsed by
/// System.Net.ServerSentEvents' SseParser (the runtime's own reader, written independently of RawSse's writer).
/// </summary>
[TestFixture]
public sealed class HttpClientTests
{
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan SettleTimeout = TimeSpan.FromSeconds(5);

    [Test]
    [CancelAfter(30_000)]
    public async Task Stream_ReadWithSseParser_YieldsTicksWithIncreasingIds(CancellationToken cancellationToken)
    {
        // Arrange
        await using var server = TestServer.Start(o => o.TickInterval = TimeSpan.FromMilliseconds(200));
        using var http = NewHttpClient(server);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(ReadTimeout);

        // Act
        using var response = await http.GetAsync("/sse", HttpCompletionOption.ResponseHeadersRead, deadline.Token);
        await using var body = await response.Content.ReadAsStreamAsync(deadline.Token);
        var parser = SseParser.Create(body);
        var items = await TakeAsync(parser, 3, deadline.Token);

        // Assert
        var ids = items.Select(i => SseStream.SequenceOf(server.Hub, i.EventId)).ToList();
        string seen = Describe.Items(items);
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), "GET /sse");
            Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/event-stream"), "Content-Type");
            Assert.That(items, Has.Count.EqualTo(3), $"events within {ReadTimeout.TotalSeconds:F0} s; parsed: {seen}");
            Assert.That(items.Select(i => i.EventType), Is.All.EqualTo("tick"), $"event types; parsed: {seen}");
            Assert.That(ids, Is.All.GreaterThan(0), $"ids are the hub's <epoch>-<sequence>; parsed: {seen}");
            Assert.That(ids, Is.Ordered.Ascending.And.Unique, $"ids strictly increase; parsed: {seen}");
            Assert.That(items.Select(i => JsonIdOf(i.Data)), Is.EqualTo(ids), $"each tick's JSON id is its event id; parsed: {seen}");
            Assert.That(parser.LastEventId, Is.EqualTo(items.LastOrDefault().EventId), "the parser's Last-Event-ID, which a reconnecting client sends");
            Assert.That(parser.ReconnectionInterval, Is.EqualTo(server.Server.Options.Retry), "the retry: sent first on the stream");
        });
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Stream_PublishedMultiLineData_ArrivesJoinedWithLineFeeds(CancellationToken cancellationToken)
    {
        // Arrange: every line ending the spec knows (LF, CRLF, CR) in one payload.
        await using var server = TestServer.Start();
        using var http = NewHttpClient(server);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(ReadTimeout);
        using var response = await http.GetAsync("/sse?topic=lines", HttpCompletionOption.ResponseHeadersRead, deadline.Token);
        await using var body = await response.Content.ReadAsStreamAsync(deadline.Token);
        bool subscribed = await Polling.UntilAsync(() => server.Hub.CountSubscribers("lines") == 1, SettleTimeout);

        // Act
        string id = server.Hub.Publish("lines", new SseEvent("first line\nsecond line\r\nthird line\rfourth line\n\nafter a blank line", type: "note"));
        var items = await TakeAsync(SseParser.Create(body), 1, deadline.Token);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(subscribed, Is.True, "the stream subscribed to 'lines'");
            Assert.That(items, Has.Count.EqualTo(1), "the published event arrived");
            Assert.That(items.FirstOrDefault().Data, Is.EqualTo("first line\nsecond line\nthird line\nfourth line\n\nafter a blank line"), "data lines joined with LF");
            Assert.That(items.FirstOrDefault().EventType, Is.EqualTo("note"), "event type");
            Assert.That(items.FirstOrDefault().EventId, Is.EqualTo(id), "event id");
        });
    }

    // A stream is open-ended: no client timeout, the deadline token bounds each test.
    private static HttpClient NewHttpClient(TestServer server) => Loopback.NewHttpClient(server.Port, Timeout.InfiniteTimeSpan);

    // Returns what arrived before the deadline rather than throwing, so the assertion can show it.
    private static async Task<List<SseItem<string>>> TakeAsync(SseParser<string> parser, int count, CancellationToken cancellationToken)
    {
        var items = new List<SseItem<string>>();
        try
        {
            await foreach (var item in parser.EnumerateAsync(cancellationToken))
            {
                items.Add(item);
                if (items.Count == count)
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }

        return items;
    }

    private static long JsonIdOf(string data)
    {
        try
        {
            using var json = JsonDocument.Parse(data);
            return json.RootElement.GetProperty("id").GetInt64();
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return -1;
        }
    }
}
