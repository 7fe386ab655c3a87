using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;
using RawSse.Sse;
using RawSse.Transport;

namespace RawSse.Tests;

/// <summary>
/// Last-Event-ID resumes on the wire: the header and the query parameter, custom ids, merged multi-topic
/// replays, the reset event when the ring cannot cover the gap, and a resume racing a busy publisher.
/// </summary>
[TestFixture]
public sealed class ReplayTests
{
    private const string EventStream = "text/event-stream";

    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan SettleTimeout = TimeSpan.FromSeconds(5);

    // Events 1 to 10 published; the stream resumes from the header's id, else the query's: the events after it, in
    // order, then the next live one. Each case keeps the name it had as a test of its own.
    // "{epoch}" stands for the hub's epoch, known only once the server runs (hub ids are "<epoch>-<sequence>").
    [TestCase("/sse?topic=a", "{epoch}-4", 5, true, TestName = "Subscribe_LastEventIdHeader_ReplaysLaterEventsInOrderThenContinuesLive")]
    [TestCase("/sse?topic=a&lastEventId={epoch}-4", null, 5, false, TestName = "Subscribe_LastEventIdQueryParameter_ReplaysLaterEventsInOrderThenContinuesLive")]
    [TestCase("/sse?topic=a&lastEventId={epoch}-4", "{epoch}-7", 8, false, TestName = "Subscribe_HeaderAndQueryParameterDisagree_HeaderWins")] // had the query won, 5, 6 and 7 would come first
    public async Task Subscribe_ResumeAfterAnId_ReplaysLaterEventsInOrderThenContinuesLive(string target, string? lastEventIdHeader, int firstReplayed, bool checkReplayMetrics)
    {
        // Arrange
        await using var server = TestServer.Start();
        PublishNumbered(server, "a", from: 1, to: 10);
        target = target.Replace("{epoch}", server.Hub.Epoch, StringComparison.Ordinal);
        lastEventIdHeader = lastEventIdHeader?.Replace("{epoch}", server.Hub.Epoch, StringComparison.Ordinal);

        // Act
        using var client = await SseStream.OpenStreamAsync(server, target, ReadTimeout, lastEventIdHeader, expectedContentType: EventStream);
        var replayed = await SseStream.ReadFramesAsync(client, count: 10 - firstReplayed + 1, ReadTimeout);
        server.Hub.Publish("a", new SseEvent("e11"));
        string live = await client.ReadUntilAsync("\n\n", ReadTimeout);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(Escape(replayed), Is.EqualTo(Escape(SseStream.NumberedFrames(server.Hub, firstReplayed, 10))), $"the replay for {target} with Last-Event-ID: {lastEventIdHeader ?? "(none)"}");
            Assert.That(Describe.Escape(live), Is.EqualTo(Describe.Escape(SseStream.NumberedFrame(server.Hub, 11))), "the first live event after the replay: no duplicate, no gap");
            if (checkReplayMetrics)
            {
                Assert.That(server.Server.Metrics.ReplayHits, Is.EqualTo(1), "replay hits");
                Assert.That(server.Server.Metrics.ReplayMisses, Is.Zero, "replay misses");
            }
        });
    }

    [Test]
    public async Task Subscribe_CustomIds_ResumesAfterTheNamedId()
    {
        // Arrange
        await using var server = TestServer.Start();
        foreach (var id in new[] { "x1", "x2", "x3" })
        {
            server.Hub.Publish("a", new SseEvent("data-" + id, id: id));
        }

        // Act
        using var client = await SseStream.OpenStreamAsync(server, "/sse?topic=a", ReadTimeout, lastEventIdHeader: "x1", expectedContentType: EventStream);
        var replayed = await SseStream.ReadFramesAsync(client, count: 2, ReadTimeout);
        server.Hub.Publish("a", new SseEvent("data-x4", id: "x4"));
        string live = await client.ReadUntilAsync("\n\n", ReadTimeout);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(Escape(replayed), Is.EqualTo(Escape(["id: x2\ndata: data-x2\n\n", "id: x3\ndata: data-x3\n\n"])), "the replay after x1");
            Assert.That(Describe.Escape(live), Is.EqualTo(Describe.Escape("id: x4\ndata: data-x4\n\n")), "the first live event after the replay");
        });
    }

    [Test]
    public async Task Subscribe_TwoTopicsResume_MergedInPublishOrderSharedEventOnce()
    {
        // Arrange: ids 1..7 alternate between a and b; id 5 goes to both.
        await using var server = TestServer.Start();
        server.Hub.Publish("a", new SseEvent("a1"));
        server.Hub.Publish("b", new SseEvent("b1"));
        server.Hub.Publish("a", new SseEvent("a2"));
        server.Hub.Publish("b", new SseEvent("b2"));
        server.Hub.Publish(["a", "b"], new SseEvent("ab"));
        server.Hub.Publish("a", new SseEvent("a3"));
        server.Hub.Publish("b", new SseEvent("b3"));

        // Act
        using var client = await SseStream.OpenStreamAsync(server, "/sse?topic=a&topic=b", ReadTimeout, lastEventIdHeader: $"{server.Hub.Epoch}-1", expectedContentType: EventStream);
        var replayed = await SseStream.ReadFramesAsync(client, count: 6, ReadTimeout);
        server.Hub.Publish(["b", "a"], new SseEvent("live"));
        string live = await client.ReadUntilAsync("\n\n", ReadTimeout);

        // Assert
        string e = server.Hub.Epoch;
        string[] expected =
        [
            $"id: {e}-2\ndata: b1\n\n",
            $"id: {e}-3\ndata: a2\n\n",
            $"id: {e}-4\ndata: b2\n\n",
            $"id: {e}-5\ndata: ab\n\n",
            $"id: {e}-6\ndata: a3\n\n",
            $"id: {e}-7\ndata: b3\n\n",
        ];
        Assert.Multiple(() =>
        {
            Assert.That(Escape(replayed), Is.EqualTo(Escape(expected)), "the merged replay of a and b after id 1");
            Assert.That(Describe.Escape(live), Is.EqualTo(Describe.Escape($"id: {e}-8\ndata: live\n\n")), "a live event on both topics arrives once");
        });
    }

    [Test]
    public async Task Subscribe_RingMovedPastTheId_OneResetFrameThenLive()
    {
        // Arrange: the ring keeps 16..20 only.
        await using var server = TestServer.Start(o => o.ReplayCapacity = 5);
        PublishNumbered(server, "a", from: 1, to: 20);

        // Act
        using var client = await SseStream.OpenStreamAsync(server, "/sse?topic=a", ReadTimeout, lastEventIdHeader: $"{server.Hub.Epoch}-2", expectedContentType: EventStream);
        string first = await client.ReadUntilAsync("\n\n", ReadTimeout);
        server.Hub.Publish("a", new SseEvent("e21"));
        string next = await client.ReadUntilAsync("\n\n", ReadTimeout);

        // Assert
        AssertResetFrame(server.Hub.Epoch, first);
        Assert.Multiple(() =>
        {
            Assert.That(Describe.Escape(next), Is.EqualTo(Describe.Escape(SseStream.NumberedFrame(server.Hub, 21))), "after the reset the stream continues live, with nothing replayed");
            Assert.That(server.Server.Metrics.ReplayMisses, Is.EqualTo(1), "replay misses");
            Assert.That(server.Server.Metrics.ReplayHits, Is.Zero, "replay hits");
        });
    }

    [Test]
    public async Task Subscribe_UnknownId_OneResetFrameThenLive()
    {
        // Arrange
        await using var server = TestServer.Start();
        PublishNumbered(server, "a", from: 1, to: 5);

        // Act
        using var client = await SseStream.OpenStreamAsync(server, "/sse?topic=a", ReadTimeout, lastEventIdHeader: "nope", expectedContentType: EventStream);
        string first = await client.ReadUntilAsync("\n\n", ReadTimeout);
        server.Hub.Publish("a", new SseEvent("e6"));
        string next = await client.ReadUntilAsync("\n\n", ReadTimeout);

        // Assert
        AssertResetFrame(server.Hub.Epoch, first);
        Assert.That(Describe.Escape(next), Is.EqualTo(Describe.Escape(SseStream.NumberedFrame(server.Hub, 6))), "after the reset the stream continues live");
    }

    [TestCase(true, TestName = "Subscribe_OverlongLastEventIdHeader_ResetAndIdNeverEchoed")]
    [TestCase(false, TestName = "Subscribe_OverlongLastEventIdQuery_ResetAndIdNeverEchoed")]
    public async Task Subscribe_OverlongLastEventId_ResetAndIdNeverEchoed(bool asHeader)
    {
        // Arrange: 1,100 characters, over the 1,024 the server keeps; distinctive so an echo would be found.
        var builder = new StringBuilder("LongId");
        for (int i = 0; builder.Length < 1100; i++)
        {
            builder.Append(CultureInfo.InvariantCulture, $"Q{i:D4}");
        }

        string longId = builder.ToString();
        await using var server = TestServer.Start();
        PublishNumbered(server, "a", from: 1, to: 5);

        // Act
        using var client = asHeader
            ? await SseStream.OpenStreamAsync(server, "/sse?topic=a", ReadTimeout, lastEventIdHeader: longId, expectedContentType: EventStream)
            : await SseStream.OpenStreamAsync(server, "/sse?topic=a&lastEventId=" + longId, ReadTimeout, expectedContentType: EventStream);
        string first = await client.ReadUntilAsync("\n\n", ReadTimeout);
        server.Hub.Publish("a", new SseEvent("e6"));
        string next = await client.ReadUntilAsync("\n\n", ReadTimeout);

        // Assert
        AssertResetFrame(server.Hub.Epoch, first);
        string everything = first + next;
        Assert.Multiple(() =>
        {
            Assert.That(Describe.Escape(next), Is.EqualTo(Describe.Escape(SseStream.NumberedFrame(server.Hub, 6))), "after the reset the stream continues live");
            Assert.That(everything, Does.Not.Contain("LongIdQ0000"), "the over-long id is never sent back");
        });
    }

    [Test]
    public async Task Subscribe_ReplayCapacityZero_AnyLastEventIdGetsReset()
    {
        // Arrange: a live subscriber keeps the topic alive while events pass through it unkept.
        await using var server = TestServer.Start(o => o.ReplayCapacity = 0);
        using var watcher = await SseStream.OpenStreamAsync(server, "/sse?topic=a", ReadTimeout, expectedContentType: EventStream);
        await server.WaitForSubscribersAsync(1, SettleTimeout, topic: "a");
        PublishNumbered(server, "a", from: 1, to: 3);
        var seenLive = await SseStream.ReadFramesAsync(watcher, count: 3, ReadTimeout);

        // Act
        using var client = await SseStream.OpenStreamAsync(server, "/sse?topic=a", ReadTimeout, lastEventIdHeader: $"{server.Hub.Epoch}-2", expectedContentType: EventStream);
        string first = await client.ReadUntilAsync("\n\n", ReadTimeout);
        server.Hub.Publish("a", new SseEvent("e4"));
        string next = await client.ReadUntilAsync("\n\n", ReadTimeout);

        // Assert
        Assert.That(Escape(seenLive), Is.EqualTo(Escape(SseStream.NumberedFrames(server.Hub, 1, 3))), "the live subscriber saw 1..3");
        AssertResetFrame(server.Hub.Epoch, first);
        Assert.Multiple(() =>
        {
            Assert.That(Describe.Escape(next), Is.EqualTo(Describe.Escape(SseStream.NumberedFrame(server.Hub, 4))), "after the reset the stream continues live");
            Assert.That(server.Server.Metrics.ReplayMisses, Is.EqualTo(1), "replay misses");
        });
    }

    [Test]
    public async Task Subscribe_WhilePublisherRuns_ContiguousRunFromAnchorToLast()
    {
        // Arrange
        const int Total = 2000;
        const int Anchor = 1000;
        await using var server = TestServer.Start(o => o.ReplayCapacity = 5000, LogLevel.Warning);
        using var client = await server.ConnectAsync();
        var anchorReached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int publishedWhenSubscribed = -1;

        // The publisher never waits; the periodic yield only lets the server's accept and parse run on the
        // thread pool in between, so the subscription lands while publishing is under way.
        var publisher = Task.Run(async () =>
        {
            for (int i = 1; i <= Total; i++)
            {
                server.Hub.Publish("a", new SseEvent("e" + i.ToString(CultureInfo.InvariantCulture)));
                if (i == Anchor)
                {
                    anchorReached.TrySetResult();
                }

                if (publishedWhenSubscribed < 0 && server.Hub.SubscriberCount > 0)
                {
                    publishedWhenSubscribed = i;
                }

                if (i % 4 == 0)
                {
                    await Task.Yield();
                }
            }
        });

        // Act
        await anchorReached.Task.WaitAsync(ReadTimeout);
        await client.SendAsync($"GET /sse?topic=a HTTP/1.1\r\nHost: test\r\nLast-Event-ID: {server.Hub.Epoch}-{Anchor}\r\n\r\n");
        var head = await client.ReadResponseAsync(expectBody: false, ReadTimeout);
        string retry = await client.ReadUntilAsync("\n\n", ReadTimeout);
        var ids = new List<int>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while ((ids.Count == 0 || ids[^1] < Total) && ids.Count < Total && DateTime.UtcNow < deadline)
        {
            string frame = await client.ReadUntilAsync("\n\n", ReadTimeout);
            ids.Add(ParseNumericId(frame));
        }

        await publisher.WaitAsync(ReadTimeout);
        TestContext.Out.WriteLine($"the publisher had published {publishedWhenSubscribed} events when it first saw the subscriber");

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(head.Status, Is.EqualTo(200), $"head: {head.RawHead}");
            Assert.That(Describe.Escape(retry), Is.EqualTo(Describe.Escape(SseStream.RetryFrame)), "the first frame");
            Assert.That(ids, Is.EqualTo(Enumerable.Range(Anchor + 1, Total - Anchor)), $"ids {Anchor + 1}..{Total}, no gap, no duplicate");
            Assert.That(server.Logs.Errors, Is.Empty, "no unexpected fault logged");
        });
    }

    // A resume's replay goes into the queue past the queue limits ("a resume must not be cut for being a resume",
    // Subscriber.EnqueueReplay). Replayed frames still waiting to be sent must not then count against the first
    // live event. The client reads only after that live event, so the replay (12.5 MiB, more than the kernel
    // buffers of a loopback connection hold) is certainly still queued when it is published.
    [Test]
    public async Task Subscribe_ReplayLargerThanQueueLimitsThenOneLiveEvent_StreamNotCut()
    {
        // Arrange
        const int Total = 200;
        string payload = new('p', 64 * 1024);
        await using var server = TestServer.Start(
            o =>
            {
                o.ReplayCapacity = Total;
                o.ReplayBytesPerTopic = o.MaxReplayBytes = 64L * 1024 * 1024; // all 200 events of 64 KiB are kept
                o.MaxQueuedEvents = 16;
                o.HeartbeatInterval = TimeSpan.Zero;
            },
            LogLevel.Warning);
        for (int i = 1; i <= Total; i++)
        {
            server.Hub.Publish("a", new SseEvent(payload));
        }

        using var client = await server.ConnectAsync();
        await client.SendAsync($"GET /sse?topic=a HTTP/1.1\r\nHost: test\r\nLast-Event-ID: {server.Hub.Epoch}-1\r\n\r\n");
        await server.WaitForSubscribersAsync(1, SettleTimeout, topic: "a");

        // Act
        server.Hub.Publish("a", new SseEvent("live"));
        var head = await client.ReadResponseAsync(expectBody: false, ReadTimeout);
        await client.ReadUntilAsync("\n\n", ReadTimeout);
        var ids = new List<int>();
        string? failure = null;
        while (ids.Count < Total)
        {
            try
            {
                ids.Add(ParseNumericId(await client.ReadUntilAsync("\n\n", ReadTimeout)));
            }
            catch (Exception ex) when (ex is EndOfStreamException or IOException)
            {
                failure = ex.GetType().Name;
                break;
            }
        }

        // Assert: if the stream was cut, let the server finish recording why before reporting it.
        var metrics = server.Server.Metrics;
        if (failure is not null)
        {
            await Polling.UntilAsync(() => server.Hub.SubscriberCount == 0 && metrics.Disconnects(DisconnectReason.SlowConsumer) + metrics.Disconnects(DisconnectReason.WriteFailed) > 0, SettleTimeout);
        }

        Assert.That(
            ids,
            Is.EqualTo(Enumerable.Range(2, Total)),
            $"ids 2..{Total + 1} (199 replayed, then the live one); stream ended by {failure ?? "nothing"} after {ids.Count} frames; "
            + $"disconnects: slow_consumer={metrics.Disconnects(DisconnectReason.SlowConsumer)}, write_failed={metrics.Disconnects(DisconnectReason.WriteFailed)}");
        Assert.That(server.Hub.CountSubscribers("a"), Is.EqualTo(1), "the resumed stream is still subscribed");
        Assert.That(head.Status, Is.EqualTo(200), $"head: {head.RawHead}");
    }

    private static void PublishNumbered(TestServer server, string topic, int from, int to)
    {
        for (int i = from; i <= to; i++)
        {
            string id = server.Hub.Publish(topic, new SseEvent("e" + i.ToString(CultureInfo.InvariantCulture)));
            Assert.That(id, Is.EqualTo($"{server.Hub.Epoch}-{i}"), "the hub assigns <epoch>-1, <epoch>-2, ... on a fresh server");
        }
    }

    private static List<string> Escape(IEnumerable<string> frames) => frames.Select(Describe.Escape).ToList();

    private static int ParseNumericId(string frame)
    {
        if (!frame.StartsWith("id: ", StringComparison.Ordinal))
        {
            Assert.Fail($"expected a frame starting with 'id: ', arrived: '{Describe.Escape(frame[..Math.Min(frame.Length, 80)])}'");
        }

        int end = frame.IndexOf('\n', StringComparison.Ordinal);
        int dash = frame.LastIndexOf('-', end);
        return int.Parse(frame.AsSpan(dash + 1, end - dash - 1), NumberStyles.None, CultureInfo.InvariantCulture);
    }

    private static void AssertResetFrame(string epoch, string frame)
    {
        string raw = Describe.Escape(frame);
        Assert.Multiple(() =>
        {
            Assert.That(frame, Does.Match($"^id: {epoch}-[0-9]+\nevent: reset\n"), $"the first frame is a reset carrying the hub's newest id, so the next reconnect resumes from it: '{raw}'");
            Assert.That(frame.Split('\n'), Has.Some.StartWith("data: "), $"the reset has a data line: '{raw}'");
            Assert.That(frame, Does.EndWith("\n\n"), $"the reset is one complete frame: '{raw}'");
            Assert.That(frame.IndexOf("\n\n", StringComparison.Ordinal), Is.EqualTo(frame.Length - 2), $"exactly one frame: '{raw}'");
        });
    }
}
