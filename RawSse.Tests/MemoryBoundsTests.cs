using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using RawSse.Sse;

namespace RawSse.Tests;

/// <summary>
/// What anonymous input can make the server hold, measured: streams that name many fresh topics, publishes that
/// name many topics, events that grow when framed, and the bounds that keep replay memory in check whatever is
/// published. The figures the README quotes come from here (printed to the test output).
/// </summary>
[TestFixture]
public sealed class MemoryBoundsTests
{
    private const int Streams = 200;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private static readonly byte[] s_receiveBuffer = new byte[512];

    [Test]
    public async Task Streams_ThirtyTwoFreshTopicsEach_HeapPerStreamAndPerTopicStaySmall()
    {
        // Arrange: the same number of streams twice, with one shared topic and with 32 fresh topics each; both ends
        // live in this process, so the difference per topic is what a topic costs the server.
        await using var server = TestServer.Start(o => o.HeartbeatInterval = TimeSpan.Zero, LogLevel.Warning);
        var sockets = new List<Socket>();
        try
        {
            sockets.Add(await OpenLeanStreamAsync(server, "/sse?topic=warm"));
            long start = Heap.SettledBytes();
            for (int i = 0; i < Streams; i++)
            {
                sockets.Add(await OpenLeanStreamAsync(server, "/sse?topic=shared"));
            }

            long oneTopic = Heap.SettledBytes();

            // Act
            for (int i = 0; i < Streams; i++)
            {
                var topics = string.Join('&', Enumerable.Range(0, 32).Select(t => $"topic=fresh-{i}-{t}"));
                sockets.Add(await OpenLeanStreamAsync(server, "/sse?" + topics));
            }

            await server.WaitForSubscribersAsync((2 * Streams) + 1, Timeout);
            long manyTopics = Heap.SettledBytes();

            // Assert
            long perStream = (manyTopics - oneTopic) / Streams;
            long perTopic = (perStream - ((oneTopic - start) / Streams)) / 31;
            TestContext.Out.WriteLine($"managed heap per stream, both ends: {(oneTopic - start) / Streams:N0} B with one shared topic, {perStream:N0} B with 32 fresh topics; about {perTopic:N0} B per topic");
            Assert.Multiple(() =>
            {
                Assert.That(perStream, Is.LessThan(32_000), "a stream of 32 fresh topics (it was about 790 KB when every topic made a 1,000-entry ring)");
                Assert.That(perTopic, Is.LessThan(700), "a topic with no events");
                Assert.That(server.Hub.TopicCount, Is.EqualTo((32 * Streams) + 2), "every topic is live while subscribed");
            });

            // And the topics go when their streams do: nothing kept, nothing held.
            foreach (var socket in sockets)
            {
                socket.Dispose();
            }

            await server.WaitForSubscribersAsync(0, Timeout);
            Assert.That(server.Hub.TopicCount, Is.Zero, "a topic with no subscriber and nothing kept costs nothing");
        }
        finally
        {
            foreach (var socket in sockets)
            {
                socket.Dispose();
            }
        }
    }

    [Test]
    public async Task Publish_NinetyThousandTopicFields_Refused400AndNoTopicMade()
    {
        // Arrange: a 1 MB body of topic fields, as the attack measured it.
        await using var server = TestServer.StartWithoutHeartbeats(o => o.MaxPublishBodyBytes = 4 * 1024 * 1024);
        using var client = await server.ConnectAsync();
        var body = string.Join('&', Enumerable.Range(0, 90_000).Select(i => $"topic=t{i}")) + "&data=x";

        // Act
        var response = await Publishing.SendAsync(client, body, Timeout);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(response.Status, Is.EqualTo(400), Describe.Response(response));
            Assert.That(response.BodyText, Does.Contain("at most 32 topics"), "the answer says why");
            Assert.That(server.Hub.TopicCount, Is.Zero, "no topic was made");
        });
    }

    [Test]
    public async Task Topics_PastMaxTopics_StreamAndPublishGet503AndLiveOnesCarryOn()
    {
        // Arrange
        await using var server = TestServer.StartWithoutHeartbeats(o => o.MaxTopics = 4);
        using var live = await SseStream.OpenStreamAsync(server, "/sse?topic=a&topic=b&topic=c", Timeout, waitForSubscriber: true);
        using var client = await server.ConnectAsync();

        // Act
        await client.SendAsync("GET /sse?topic=d&topic=e HTTP/1.1\r\nHost: test\r\n\r\n");
        var stream = await client.ReadResponseAsync();
        using var publisher = await server.ConnectAsync();
        var publish = await Publishing.SendAsync(publisher, "topic=x&topic=y&data=1", Timeout);
        var fits = await Publishing.SendAsync(publisher, "topic=a&topic=d&data=2", Timeout);
        var frame = await live.ReadUntilAsync("data: 2\n\n", Timeout);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(stream.Status, Is.EqualTo(503), Describe.Response(stream));
            Assert.That(stream.Headers.GetValueOrDefault("Retry-After"), Is.EqualTo("5"), Describe.Response(stream));
            Assert.That(publish.Status, Is.EqualTo(503), Describe.Response(publish));
            Assert.That(fits.Status, Is.EqualTo(200), $"one new topic still fits: {Describe.Response(fits)}");
            Assert.That(frame, Does.EndWith("data: 2\n\n"), "the live stream carries on");
            Assert.That(server.Hub.TopicCount, Is.EqualTo(4));
        });
    }

    [Test]
    public async Task Replay_CarriageReturnHeavyEvents_KeptBytesStayWithinBothBounds()
    {
        // Arrange: each event's data is 3,000 CRs, 9 KB in the form and 21 KB once framed (a "data: " line each).
        await using var server = TestServer.StartWithoutHeartbeats(o =>
        {
            o.ReplayBytesPerTopic = 64 * 1024;
            o.MaxReplayBytes = 128 * 1024;
        });
        using var client = await server.ConnectAsync();
        string data = "data=" + string.Concat(Enumerable.Repeat("%0D", 3000));
        var ids = new Dictionary<string, string>();

        // Act: twenty events to one topic, then one to each of ten more.
        for (int i = 0; i < 20; i++)
        {
            var response = await Publishing.SendAsync(client, $"topic=one&{data}", Timeout);
            Assert.That(response.Status, Is.EqualTo(200), Describe.Response(response));
        }

        long oneTopicBytes = server.Hub.ReplayBytes;
        for (int t = 0; t < 10; t++)
        {
            var response = await Publishing.SendAsync(client, $"topic=t{t}&{data}", Timeout);
            ids[$"t{t}"] = response.BodyText;
        }

        // Assert: the oldest topics' events went first; a resume from one of them resets, from a recent one replays.
        using var oldest = await SseStream.OpenStreamAsync(server, "/sse?topic=t0", Timeout, lastEventIdHeader: ids["t0"]);
        string reset = await oldest.ReadUntilAsync("\n\n", Timeout);
        Assert.Multiple(() =>
        {
            Assert.That(oneTopicBytes, Is.LessThanOrEqualTo(64 * 1024), "one topic keeps at most --replay-bytes");
            Assert.That(server.Hub.ReplayBytes, Is.LessThanOrEqualTo(128 * 1024), "all topics keep at most --max-replay-memory");
            Assert.That(reset, Does.Contain("event: reset"), $"t0's event was evicted first: {Describe.Escape(reset)}");
        });
    }

    [TestCase(nameof(ServerOptions.ReplayCapacity), 1_000_001L)]
    [TestCase(nameof(ServerOptions.ReplayBytesPerTopic), 100L)]
    [TestCase(nameof(ServerOptions.MaxReplayBytes), 1024L)]
    [TestCase(nameof(ServerOptions.MaxTopics), 0L)]
    [TestCase(nameof(ServerOptions.MaxQueuedBytes), 10L)]
    [TestCase(nameof(ServerOptions.MaxQueuedEvents), 2_000_000L)]
    [TestCase(nameof(ServerOptions.MaxConnections), 2_000_000L)]
    [TestCase(nameof(ServerOptions.MaxRequestHeadersBytes), 1L << 30)]
    public void Validate_NumberOutOfRange_ThrowsNamingIt(string option, long value)
    {
        // Arrange
        var options = new ServerOptions { Root = Path.GetTempPath() };
        Assert.DoesNotThrow(options.Validate, "the defaults are valid");
        var property = typeof(ServerOptions).GetProperty(option)!;
        property.SetValue(options, Convert.ChangeType(value, property.PropertyType, System.Globalization.CultureInfo.InvariantCulture));

        // Act
        var error = Assert.Throws<ArgumentException>(options.Validate);

        // Assert
        Assert.That(error!.Message, Does.Contain("must be"), $"{option} = {value}");
    }

    [Test]
    public async Task Streams_OpenedAndClosedAtInformationLevel_NothingLoggedPerStream()
    {
        // Arrange: the console logger blocks when its queue is full; a flood of streams must not feed it.
        await using var server = TestServer.Start(o => o.HeartbeatInterval = TimeSpan.Zero, LogLevel.Information);
        int before = server.Logs.Entries.Count;

        // Act
        for (int i = 0; i < 20; i++)
        {
            using var stream = await SseStream.OpenStreamAsync(server, $"/sse?topic=t{i}", Timeout);
        }

        await server.WaitForSubscribersAsync(0, Timeout);

        // Assert
        Assert.That(server.Logs.Entries.Count, Is.EqualTo(before), string.Join("\n", server.Logs.Entries.Select(e => e.Message)));
    }

    // A bare socket reading into one shared small buffer: the heap measured holds the client ends too.
    private static async Task<Socket> OpenLeanStreamAsync(TestServer server, string target)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            using var deadline = new CancellationTokenSource(Timeout);
            await socket.ConnectAsync(server.EndPoint, deadline.Token);
            var request = Encoding.ASCII.GetBytes($"GET {target} HTTP/1.1\r\nHost: test\r\n\r\n");
            for (int sent = 0; sent < request.Length;)
            {
                sent += await socket.SendAsync(request.AsMemory(sent), SocketFlags.None, deadline.Token);
            }

            var head = new StringBuilder();
            while (!head.ToString().EndsWith(SseStream.RetryFrame, StringComparison.Ordinal))
            {
                int n = await socket.ReceiveAsync(s_receiveBuffer, SocketFlags.None, deadline.Token);
                Assert.That(n, Is.GreaterThan(0), $"GET {target}: closed before the head; arrived: {Describe.Escape(head.ToString())}");
                head.Append(Encoding.ASCII.GetString(s_receiveBuffer, 0, n));
            }

            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
