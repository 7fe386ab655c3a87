using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;

namespace RawSse.Tests;

/// <summary>
/// The publish path at volume, from a raw socket: many publishes pipelined in one write are all parsed and answered in
/// order without a round trip each, and reach the subscriber in that order; and what one publish costs in allocated
/// bytes, small (no per-event garbage beyond its frame, id and topic) and large (the body decoded straight into its
/// frame, no text copy of it).
/// </summary>
[TestFixture]
public sealed class PublishPathTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    // Measured 2026-12-01 (least of three rounds): about 1,400 bytes before the body was framed where it lies, 770 to
    // 800 after (the frame, the event, its id and topic, and a few small objects); a static GET allocates nothing.
    private const long MaxAllocatedBytesPerSmallPublish = 1000;

    [Test]
    public async Task Publish_FiveHundredPipelinedInOneWrite_AllAnsweredInOrderAndDeliveredInOrder()
    {
        // Arrange
        await using var server = TestServer.StartWithoutHeartbeats();
        using var subscriber = await server.ConnectAsync();
        await subscriber.SendAsync("GET /sse?topic=pipe HTTP/1.1\r\nHost: test\r\n\r\n");
        await server.WaitForSubscribersAsync(1, Timeout, "pipe");
        using var publisher = await server.ConnectAsync();
        const int Count = 500;
        byte[] all = [.. Enumerable.Range(0, Count).SelectMany(i => Publishing.Request($"topic=pipe&data=event+{i}"))];

        // Act
        await publisher.SendAsync(all);
        var ids = new List<string>(Count);
        for (int i = 0; i < Count; i++)
        {
            var response = await publisher.ReadResponseAsync(timeout: Timeout);
            Assert.That(response.Status, Is.EqualTo(200), $"publish {i}: {Describe.Response(response)}");
            ids.Add(response.BodyText);
        }

        string stream = await subscriber.ReadUntilAsync($"data: event {Count - 1}\n\n", Timeout);

        // Assert
        var expected = new StringBuilder();
        for (int i = 0; i < Count; i++)
        {
            expected.Append(CultureInfo.InvariantCulture, $"id: {ids[i]}\ndata: event {i}\n\n");
        }

        Assert.Multiple(() =>
        {
            Assert.That(ids.Select(id => long.Parse(id[(id.IndexOf('-') + 1)..], CultureInfo.InvariantCulture)), Is.EqualTo(Enumerable.Range(1, Count).Select(i => (long)i)),
                "answered in the order sent, each with the next position");
            Assert.That(stream, Does.EndWith(expected.ToString()), "delivered in the order published, byte for byte");
        });
    }

    [Test]
    public async Task Publish_SmallEventsPipelined_AllocationPerPublishBounded()
    {
        // Arrange: a subscriber on the topic, so each publish is framed, kept in the ring and queued for delivery. Both
        // clients are bare blocking sockets reading into one buffer each, so what is counted is the server's.
        await using var server = TestServer.Start(o => o.HeartbeatInterval = TimeSpan.Zero, LogLevel.Warning);
        using var subscriber = Connect(server);
        subscriber.Send("GET /sse?topic=alloc HTTP/1.1\r\nHost: test\r\n\r\n"u8);
        await server.WaitForSubscribersAsync(1, Timeout, "alloc");
        var draining = new Thread(() => Drain(subscriber)) { IsBackground = true };
        draining.Start();
        using var publisher = Connect(server);
        const int Batch = 200;
        byte[] batch = [.. Enumerable.Range(0, Batch).SelectMany(_ => Publishing.Request("topic=alloc&data=hello+world+0123456789"))];
        var answers = new byte[256 * 1024];
        PublishBatch(publisher, batch, Batch, answers); // warm-up: the first use of every path

        // Act: the least of three rounds, since the count is the whole process's (the runtime's own threads too).
        long perPublish = long.MaxValue;
        for (int round = 0; round < 3; round++)
        {
            long before = GC.GetTotalAllocatedBytes(precise: true);
            for (int i = 0; i < 10; i++)
            {
                PublishBatch(publisher, batch, Batch, answers);
            }

            perPublish = Math.Min(perPublish, (GC.GetTotalAllocatedBytes(precise: true) - before) / (10 * Batch));
        }

        subscriber.Shutdown(SocketShutdown.Both);
        draining.Join(Timeout);

        // Assert
        TestContext.Out.WriteLine($"{perPublish:N0} bytes allocated per publish (whole process)");
        Assert.That(perPublish, Is.LessThan(MaxAllocatedBytesPerSmallPublish));
    }

    [Test]
    public async Task Publish_OneMebibyteEvent_AllocatesItsFrameAndNoTextCopy()
    {
        // Arrange: a 1 MiB payload, with line breaks, escapes and '+' in it.
        await using var server = TestServer.Start(o =>
        {
            o.HeartbeatInterval = TimeSpan.Zero;
            o.MaxPublishBodyBytes = 4 << 20;
            o.MaxQueuedBytes = 8 << 20;
        }, LogLevel.Warning);
        using var publisher = await server.ConnectAsync();
        string line = new string('x', 1020) + "+%0A"; // 1,022 bytes once decoded
        string body = "topic=big&data=" + string.Concat(Enumerable.Repeat(line, 1024));
        byte[] request = Publishing.Request(body);
        for (int i = 0; i < 2; i++)
        {
            var warm = await SendOneAsync(publisher, request); // warm-up, and the pooled body buffer
            Assert.That(warm.Status, Is.EqualTo(200), Describe.Response(warm));
        }

        // Act
        const int Count = 4;
        var statuses = new List<int>(3 * Count);
        long allocated = long.MaxValue;
        for (int round = 0; round < 3; round++) // the least of three rounds, as above
        {
            long before = GC.GetTotalAllocatedBytes(precise: true);
            for (int i = 0; i < Count; i++)
            {
                statuses.Add((await SendOneAsync(publisher, request)).Status);
            }

            allocated = Math.Min(allocated, (GC.GetTotalAllocatedBytes(precise: true) - before) / Count);
        }

        // Assert
        long frameBytes = 1024 * (1022 + 7) + 40; // each line "data: " + 1,021 + LF, the id line, the blank line
        TestContext.Out.WriteLine($"a {body.Length:N0}-byte body allocated {allocated:N0} bytes a publish (its frame: about {frameBytes:N0})");
        Assert.Multiple(() =>
        {
            Assert.That(statuses, Is.All.EqualTo(200));
            // The frame, and at most one body buffer the shared pool had trimmed (a gen-2 collection may empty it);
            // a text copy of the payload alone would add twice the frame (the code before allocated four times it).
            Assert.That(allocated, Is.LessThan(frameBytes * 5 / 2), "the frame, and no text copy of the payload");
        });
    }

    private static async Task<HttpResponse> SendOneAsync(RawClient publisher, byte[] request)
    {
        await publisher.SendAsync(request);
        return await publisher.ReadResponseAsync(timeout: Timeout);
    }

    private static Socket Connect(TestServer server)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { ReceiveTimeout = (int)Timeout.TotalMilliseconds };
        socket.Connect(server.EndPoint);
        return socket;
    }

    // Sends the pipelined batch in one write and reads until every answer's head (its blank line) has arrived; each
    // must be a 200.
    private static void PublishBatch(Socket publisher, byte[] batch, int count, byte[] buffer)
    {
        publisher.Send(batch);
        int heads = 0, matched = 0;
        while (heads < count)
        {
            int n = publisher.Receive(buffer);
            Assert.That(n, Is.GreaterThan(0), $"the server closed after {heads} answers");
            var span = buffer.AsSpan(0, n);
            Assert.That(span.IndexOf("HTTP/1.1 200 "u8) == 0 || heads > 0 || matched > 0, Is.True, Encoding.ASCII.GetString(span[..Math.Min(n, 200)]));
            foreach (byte b in span)
            {
                matched = b == "\r\n\r\n"u8[matched] ? matched + 1 : b == (byte)'\r' ? 1 : 0;
                if (matched == 4)
                {
                    heads++;
                    matched = 0;
                }
            }
        }
    }

    // Reads the stream as it comes, so the subscriber's queue never fills, until it ends.
    private static void Drain(Socket subscriber)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (subscriber.Receive(buffer) > 0)
            {
            }
        }
        catch (SocketException)
        {
            // shut down, or the server closed it
        }
    }
}
