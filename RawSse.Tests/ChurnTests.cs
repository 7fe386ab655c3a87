using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using RawSse.Sse;
using RawSse.Transport;

namespace RawSse.Tests;

/// <summary>
/// Streams that come and go, and clients that misbehave: after each, the server holds no connection, no
/// subscriber, no file descriptor and (for the churn) no managed memory it did not hold before, and logs no error.
/// The churn and the stop run with the ticker on, so the server's writes race with the clients' closes.
/// </summary>
[TestFixture]
public sealed class ChurnTests
{
    private const int Cycles = 10_000;
    private const int WarmUpCycles = 300;
    private const int Concurrency = 50;
    private const int FdMargin = 20;
    private const long HeapMarginBytes = 8 * 1024 * 1024;

    private static readonly TimeSpan TickInterval = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan CycleTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan SettleTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan ChurnBudget = TimeSpan.FromSeconds(60);

    // ---- churn -----------------------------------------------------------------------------------------

    [Test]
    [CancelAfter(120_000)]
    public async Task Subscribe_TenThousandSubscribeAndVanishCycles_CountsDescriptorsAndHeapReturnToBaseline(CancellationToken cancellationToken)
    {
        // Arrange
        await using var server = TestServer.Start(o => o.TickInterval = TickInterval, LogLevel.Warning);
        var warmUp = await ChurnAsync(server, WarmUpCycles, cancellationToken);
        bool warmedUp = await Polling.UntilAsync(() => IsIdle(server), SettleTimeout);
        int fdBefore = OpenFileDescriptors();
        long heapBefore = Heap.SettledBytes();
        var stopwatch = Stopwatch.StartNew();

        // Act
        var churn = await ChurnAsync(server, Cycles, cancellationToken);
        stopwatch.Stop();
        bool idle = await Polling.UntilAsync(() => IsIdle(server), SettleTimeout);
        await Polling.UntilAsync(() => OpenFileDescriptors() <= fdBefore + FdMargin, SettleTimeout);
        int fdAfter = OpenFileDescriptors();
        long heapAfter = Heap.SettledBytes();
        TestContext.Out.WriteLine($"churn: {churn.Completed:N0} of {Cycles:N0} cycles (half closed cleanly, half reset) in {stopwatch.Elapsed.TotalSeconds:F1} s; " +
            $"{churn.ResetAfterFin} clean closes answered with an RST instead of a FIN");
        TestContext.Out.WriteLine($"open file descriptors: {fdBefore} before, {fdAfter} after");
        TestContext.Out.WriteLine($"managed heap after a full GC: {heapBefore:N0} B before, {heapAfter:N0} B after ({(heapAfter - heapBefore) / 1024.0:+0.0;-0.0} KiB)");

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(warmUp.Failures, Is.Empty, "warm-up cycles");
            Assert.That(warmedUp, Is.True, "idle after the warm-up");
            Assert.That(churn.Failures, Is.Empty, $"{churn.Failures.Count} cycle(s) failed:\n" + string.Join("\n", churn.Failures));
            Assert.That(churn.Completed, Is.EqualTo(Cycles), "cycles completed");
            // A client's FIN must be answered by the server's FIN (a clean end), never by a reset.
            Assert.That(churn.ResetAfterFin + warmUp.ResetAfterFin, Is.Zero, "clean closes (client FIN, then reading to the end) that the server answered with an RST instead of its own FIN");
            Assert.That(stopwatch.Elapsed, Is.LessThan(ChurnBudget), "time for the churn");
            Assert.That(idle, Is.True, $"subscribers={server.Hub.SubscriberCount}, connections={server.Server.ConnectionCount} after the churn");
            Assert.That(fdAfter, Is.LessThanOrEqualTo(fdBefore + FdMargin), "open file descriptors after the churn");
            Assert.That(heapAfter - heapBefore, Is.LessThanOrEqualTo(HeapMarginBytes), "managed heap growth after a full GC");
            Assert.That(server.Logs.Errors, Is.Empty, "Error-level log entries");
        });
    }

    // ---- faults ----------------------------------------------------------------------------------------

    [Test]
    [CancelAfter(60_000)]
    public async Task Stream_ClientResetsWhileLargeWritesAreInFlight_ConnectionAndSubscriberReleased(CancellationToken cancellationToken)
    {
        // Arrange: queue limits high enough that only the reset can end the stream; more unread than any socket buffer holds.
        const long InFlightBytes = 6L * 1024 * 1024; // past tcp_wmem's 4 MiB ceiling plus the client's small receive buffer
        await using var server = TestServer.Start(o =>
        {
            o.ReplayCapacity = 0;
            o.MaxQueuedBytes = 64L * 1024 * 1024;
            o.MaxQueuedEvents = 100_000;
        }, LogLevel.Warning);
        int fdBefore = await WarmUpAsync(server);
        var client = await SubscribeAsync(server, "big", cancellationToken, receiveBufferSize: 8 * 1024);
        string data = new('x', 32 * 1024);
        long published = 0, received = 0;
        int resetDone = 0;
        var publisher = Task.Run(async () =>
        {
            var limit = Stopwatch.StartNew();
            while (limit.Elapsed < TimeSpan.FromSeconds(20) && !cancellationToken.IsCancellationRequested)
            {
                bool reset = Volatile.Read(ref resetDone) == 1;
                if (reset && server.Hub.CountSubscribers("big") == 0)
                {
                    return;
                }

                if (!reset && Interlocked.Read(ref published) - Interlocked.Read(ref received) >= InFlightBytes + (512 * 1024))
                {
                    await Task.Delay(1, CancellationToken.None); // the client is behind: wait for it (or for the reset)
                    continue;
                }

                server.Hub.Publish("big", new SseEvent(data));
                Interlocked.Add(ref published, data.Length);
                await Task.Yield();
            }
        }, CancellationToken.None);

        // Read the first 1 MiB, then stop reading until well over the kernel's buffers is unread.
        var buffer = new byte[64 * 1024];
        using (var readDeadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            readDeadline.CancelAfter(CycleTimeout);
            while (Interlocked.Read(ref received) < 1024 * 1024)
            {
                int n = await client.ReceiveAsync(buffer, readDeadline.Token);
                Assert.That(n, Is.GreaterThan(0), "the stream ended before the reset");
                Interlocked.Add(ref received, n);
            }
        }

        bool backedUp = await Polling.UntilAsync(() => Interlocked.Read(ref published) - Interlocked.Read(ref received) >= InFlightBytes, CycleTimeout);
        long unreadAtReset = Interlocked.Read(ref published) - Interlocked.Read(ref received);

        // Act
        client.Reset();
        Volatile.Write(ref resetDone, 1);
        bool released = await Polling.UntilAsync(() => IsIdle(server), SettleTimeout);
        await publisher.WaitAsync(SettleTimeout, cancellationToken);
        bool fdsBack = await Polling.UntilAsync(() => OpenFileDescriptors() <= fdBefore + FdMargin, SettleTimeout);
        TestContext.Out.WriteLine($"{unreadAtReset / 1024:N0} KiB unread at the reset; ended by: {Reasons(server)}; fds {fdBefore} before, {OpenFileDescriptors()} after");

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(backedUp, Is.True, $"only {unreadAtReset / 1024:N0} KiB were unread before the reset");
            Assert.That(released, Is.True, $"subscribers={server.Hub.SubscriberCount}, connections={server.Server.ConnectionCount} after the reset");
            Assert.That(fdsBack, Is.True, $"open file descriptors: {fdBefore} before, {OpenFileDescriptors()} after");
            Assert.That(server.Server.Metrics.Disconnects(DisconnectReason.ServerFault), Is.Zero, "server faults");
            Assert.That(server.Logs.Errors, Is.Empty, "Error-level log entries");
        });
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Stream_ClientHalfClosesRightAfterRequest_ServerEndsStreamCleanlyAndReleasesIt(CancellationToken cancellationToken)
    {
        // Arrange
        await using var server = TestServer.Start(configure: null, LogLevel.Warning);
        int fdBefore = await WarmUpAsync(server);
        var client = await RawClient.ConnectAsync(server.EndPoint, timeout: ReadTimeout, cancellationToken: cancellationToken);

        // Act: the request, then FIN at once; the client still reads.
        await client.SendAsync("GET /sse HTTP/1.1\r\nHost: half\r\nAccept: text/event-stream\r\n\r\n"u8.ToArray(), cancellationToken);
        client.ShutdownSend();
        var (end, bytes) = await client.ReadEndAsync(ReadTimeout, cancellationToken);
        string text = Encoding.UTF8.GetString(bytes);
        bool releasedWhileClientOpen = await Polling.UntilAsync(() => IsIdle(server), SettleTimeout);
        client.Dispose();
        bool fdsBack = await Polling.UntilAsync(() => OpenFileDescriptors() <= fdBefore + FdMargin, SettleTimeout);

        // Assert: the server takes the half-close as the client leaving: the stream's head and retry line, then a clean end.
        int headEnd = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        Assert.Multiple(() =>
        {
            Assert.That(end, Is.EqualTo(ReadEnd.Eof), $"how the stream ended; received '{Describe.Escape(text)}'");
            Assert.That(text, Does.StartWith("HTTP/1.1 200 "), "status line");
            Assert.That(text, Does.Contain("Content-Type: text/event-stream\r\n"), "a stream's head");
            Assert.That(headEnd >= 0 ? Describe.Escape(text[(headEnd + 4)..]) : "(no head)", Is.EqualTo(Describe.Escape("retry: 2000\n\n")), "body before the end");
            Assert.That(server.Server.Metrics.Disconnects(DisconnectReason.ClientClosed), Is.EqualTo(1), "streams ended as client_closed");
            Assert.That(releasedWhileClientOpen, Is.True, $"subscribers={server.Hub.SubscriberCount}, connections={server.Server.ConnectionCount}");
            Assert.That(fdsBack, Is.True, $"open file descriptors: {fdBefore} before, {OpenFileDescriptors()} after");
            Assert.That(server.Logs.Errors, Is.Empty, "Error-level log entries");
        });
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Stream_ClientKeepsSending_ToleratedUpTo64KiBThenClosedOthersUnaffected(CancellationToken cancellationToken)
    {
        // Arrange: two streams on one topic; one of them will talk where nothing is expected.
        await using var server = TestServer.StartWithoutHeartbeats();
        using var talker = await RawClient.ConnectAsync(server.EndPoint, timeout: ReadTimeout, cancellationToken: cancellationToken);
        using var quiet = await RawClient.ConnectAsync(server.EndPoint, timeout: ReadTimeout, cancellationToken: cancellationToken);
        foreach (var client in new[] { talker, quiet })
        {
            await client.SendAsync("GET /sse?topic=t HTTP/1.1\r\nHost: junk\r\n\r\n"u8.ToArray(), cancellationToken);
            await client.ReadUntilAsync("retry: 2000\n\n", ReadTimeout);
        }

        // Act: a little (a request pipelined behind GET /sse is never answered, and is tolerated), then a flood.
        await talker.SendAsync("GET / HTTP/1.1\r\nHost: junk\r\n\r\n"u8.ToArray(), cancellationToken);
        server.Hub.Publish("t", new SseEvent("first"));
        var first = await talker.ReadUntilAsync("data: first\n\n", ReadTimeout);
        try
        {
            await talker.SendAsync(new byte[256 * 1024], cancellationToken);
        }
        catch (SocketException)
        {
            // The server closed the stream part way through the flood: what this test expects.
        }

        var (end, _) = await talker.ReadEndAsync(ReadTimeout, cancellationToken);
        server.Hub.Publish("t", new SseEvent("second"));
        var second = await quiet.ReadUntilAsync("data: second\n\n", ReadTimeout);

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(first, Does.EndWith("data: first\n\n"), "a few bytes from the client do not end its stream");
            Assert.That(end, Is.Not.EqualTo(ReadEnd.Timeout), "the flooding stream was not closed");
            Assert.That(server.Server.Metrics.Disconnects(DisconnectReason.ProtocolError), Is.EqualTo(1), $"ended by: {Reasons(server)}");
            Assert.That(second, Does.Contain("data: first\n\n"), "the other stream got the first event");
            Assert.That(second, Does.EndWith("data: second\n\n"), "the other stream carries on");
            Assert.That(server.Hub.SubscriberCount, Is.EqualTo(1), "only the flooding stream is gone");
            Assert.That(server.Logs.Errors, Is.Empty);
        }
    }

    [Test]
    [CancelAfter(60_000)]
    [Category("Timing")]
    public async Task Stream_ClientNeverReads_CutByWriteTimeoutAndReleasedWhileClientKeepsSocketOpen(CancellationToken cancellationToken)
    {
        // Arrange: queue limits high, so the write timeout, not the queue, has to cut the stream.
        var writeTimeout = TimeSpan.FromMilliseconds(500);
        await using var server = TestServer.Start(o =>
        {
            o.WriteTimeout = writeTimeout;
            o.ReplayCapacity = 0;
            o.MaxQueuedBytes = 64L * 1024 * 1024;
            o.MaxQueuedEvents = 100_000;
        }, LogLevel.Warning);
        int fdBefore = await WarmUpAsync(server);
        var client = await SubscribeAsync(server, "slow", cancellationToken, receiveBufferSize: 4 * 1024); // reads the response head, and then never again
        var data = new string('s', 64 * 1024);
        int published = 0;
        var stopwatch = Stopwatch.StartNew();

        // Act: publish until the server cuts the stream.
        using (var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(10)))
        {
            while (server.Hub.CountSubscribers("slow") > 0 && stopwatch.Elapsed < TimeSpan.FromSeconds(20))
            {
                server.Hub.Publish("slow", new SseEvent(data));
                published++;
                await timer.WaitForNextTickAsync(cancellationToken);
            }
        }

        var cutAfter = stopwatch.Elapsed;
        bool released = await Polling.UntilAsync(() => IsIdle(server), SettleTimeout);
        bool clientStillOpen = !client.Socket.SafeHandle.IsClosed;
        int fdWhileOpen = OpenFileDescriptors();
        client.Dispose();
        bool fdsBack = await Polling.UntilAsync(() => OpenFileDescriptors() <= fdBefore + FdMargin, SettleTimeout);
        TestContext.Out.WriteLine($"cut after {cutAfter.TotalMilliseconds:F0} ms and {published} events of 64 KiB; ended by: {Reasons(server)}; " +
            $"fds {fdBefore} before, {fdWhileOpen} with the client open, {OpenFileDescriptors()} after");

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(server.Hub.CountSubscribers("slow"), Is.Zero, $"still subscribed after {cutAfter.TotalSeconds:F1} s of publishing");
            Assert.That(server.Server.Metrics.Disconnects(DisconnectReason.WriteTimeout), Is.EqualTo(1), $"streams cut by the write timeout; ended by: {Reasons(server)}");
            Assert.That(clientStillOpen, Is.True, "the client kept its socket open throughout");
            Assert.That(released, Is.True, $"subscribers={server.Hub.SubscriberCount}, connections={server.Server.ConnectionCount} with the client still open");
            Assert.That(fdsBack, Is.True, $"open file descriptors: {fdBefore} before, {OpenFileDescriptors()} after");
            Assert.That(server.Logs.Errors, Is.Empty, "Error-level log entries");
        });
    }

    // ---- graceful stop ---------------------------------------------------------------------------------

    [Test]
    [CancelAfter(60_000)]
    [Category("Timing")]
    public async Task StopAsync_TwentySubscribersWithTickerOn_CompletesInTimeAndEveryClientReadsCleanEof(CancellationToken cancellationToken)
    {
        // Arrange
        const int Subscribers = 20;
        await using var server = TestServer.Start(o => o.TickInterval = TickInterval, LogLevel.Warning);
        var clients = new List<RawClient>();
        try
        {
            for (int i = 0; i < Subscribers; i++)
            {
                clients.Add(await SubscribeAsync(server, Hub.DefaultTopic, cancellationToken, source: Loopback.Sources[i % Loopback.Sources.Length]));
            }

            bool subscribed = await Polling.UntilAsync(() => server.Hub.SubscriberCount == Subscribers, SettleTimeout);
            // Two ticks delivered to every stream: the writes are running when the stop begins.
            long deliveriesAtStart = server.Server.Metrics.Deliveries;
            bool ticking = await Polling.UntilAsync(() => server.Server.Metrics.Deliveries >= deliveriesAtStart + (2 * Subscribers), SettleTimeout);
            var readers = clients.Select(c => c.ReadEndAsync(TimeSpan.FromSeconds(10), cancellationToken)).ToArray();
            var limit = server.Server.Options.ShutdownTimeout + TimeSpan.FromSeconds(1);
            var stopwatch = Stopwatch.StartNew();

            // Act
            await server.Server.StopAsync().WaitAsync(TimeSpan.FromSeconds(15), cancellationToken);
            stopwatch.Stop();
            int connectionsAfterStop = server.Server.ConnectionCount;
            var results = await Task.WhenAll(readers);
            TestContext.Out.WriteLine($"stopped in {stopwatch.Elapsed.TotalMilliseconds:F0} ms (limit {limit.TotalMilliseconds:F0} ms); ended by: {Reasons(server)}");

            // Assert
            Assert.Multiple(() =>
            {
                Assert.That(subscribed, Is.True, $"{server.Hub.SubscriberCount} of {Subscribers} subscribed");
                Assert.That(ticking, Is.True, "ticks delivered before the stop");
                Assert.That(stopwatch.Elapsed, Is.LessThanOrEqualTo(limit), "StopAsync duration");
                Assert.That(connectionsAfterStop, Is.Zero, "connections after StopAsync");
                for (int i = 0; i < results.Length; i++)
                {
                    var (end, bytes) = results[i];
                    string tail = Describe.Escape(Encoding.UTF8.GetString(bytes[Math.Max(0, bytes.Length - 120)..]));
                    Assert.That(end, Is.EqualTo(ReadEnd.Eof), $"client {i}: how its stream ended (…'{tail}')");
                    Assert.That(bytes.AsSpan().EndsWith("\n\n"u8), Is.True, $"client {i}: the stream ends after a whole frame (…'{tail}')");
                }

                Assert.That(server.Logs.Errors, Is.Empty, "Error-level log entries");
            });
        }
        finally
        {
            foreach (var client in clients)
            {
                client.Dispose();
            }
        }
    }

    // ---- helpers ---------------------------------------------------------------------------------------

    private static bool IsIdle(TestServer server) => server.Hub.SubscriberCount == 0 && server.Server.ConnectionCount == 0;

    private sealed record ChurnResult(int Completed, int ResetAfterFin, List<string> Failures);

    /// <summary>Runs the cycles on <see cref="Concurrency"/> workers; stops early only after 20 failures.</summary>
    private static async Task<ChurnResult> ChurnAsync(TestServer server, int cycles, CancellationToken cancellationToken)
    {
        var failures = new ConcurrentQueue<string>();
        int next = -1, completed = 0, resetAfterFin = 0;

        async Task WorkerAsync()
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < cycles && failures.Count < 20)
            {
                bool clean = i % 2 == 0;
                try
                {
                    var end = await SubscribeAndVanishAsync(server.EndPoint, Loopback.Sources[i % Loopback.Sources.Length], clean, cancellationToken);
                    Interlocked.Increment(ref completed);
                    if (end == ReadEnd.Reset)
                    {
                        Interlocked.Increment(ref resetAfterFin);
                    }
                    else if (end == ReadEnd.Timeout)
                    {
                        failures.Enqueue($"cycle {i} (clean close): the server did not close within {CycleTimeout.TotalSeconds:F0} s of the client's FIN");
                    }
                }
                catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException or InvalidDataException or TimeoutException or FormatException)
                {
                    failures.Enqueue($"cycle {i} ({(clean ? "clean close" : "reset")}): {ex.GetType().Name}: {ex.Message}");
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, Concurrency).Select(_ => Task.Run(WorkerAsync, CancellationToken.None)));
        return new ChurnResult(completed, resetAfterFin, [.. failures]);
    }

    /// <summary>
    /// Connect, subscribe, read the response head, then leave: half-close and read to the end (clean), or reset.
    /// Returns how the server ended a clean close (EOF, reset or timeout); <see cref="ReadEnd.Eof"/> after a reset.
    /// </summary>
    private static async Task<ReadEnd> SubscribeAndVanishAsync(IPEndPoint endPoint, IPAddress source, bool clean, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(CycleTimeout);
        using var client = await RawClient.ConnectAsync(endPoint, source, cancellationToken: deadline.Token);
        await client.SendAsync("GET /sse HTTP/1.1\r\nHost: churn\r\nAccept: text/event-stream\r\n\r\n"u8.ToArray(), deadline.Token);
        string head = (await client.ReadResponseAsync(expectBody: false, CycleTimeout)).RawHead;
        if (!head.StartsWith("HTTP/1.1 200 ", StringComparison.Ordinal) || !head.Contains("Content-Type: text/event-stream\r\n", StringComparison.Ordinal))
        {
            throw new InvalidDataException($"not a stream's head: '{Describe.Escape(head)}'");
        }

        if (clean)
        {
            // Shutdown, not Close: closing with unread ticks in the receive buffer would send an RST.
            client.ShutdownSend();
            return (await client.ReadEndAsync(CycleTimeout, deadline.Token)).End;
        }

        client.Reset();
        return ReadEnd.Eof;
    }

    /// <summary>Connects (from <paramref name="source"/>, with a small receive window when given), subscribes to <paramref name="topic"/>, and reads the response head; nothing after it.</summary>
    private static async Task<RawClient> SubscribeAsync(TestServer server, string topic, CancellationToken cancellationToken, IPAddress? source = null, int receiveBufferSize = 0)
    {
        var client = await RawClient.ConnectAsync(server.EndPoint, source, receiveBufferSize, ReadTimeout, cancellationToken);
        try
        {
            await client.SendAsync(Encoding.ASCII.GetBytes($"GET /sse?topic={topic} HTTP/1.1\r\nHost: fault\r\nAccept: text/event-stream\r\n\r\n"), cancellationToken);
            var head = await client.ReadResponseAsync(expectBody: false, ReadTimeout);
            Assert.That(head.RawHead, Does.StartWith("HTTP/1.1 200 ").And.Contain("text/event-stream"), "the stream's response head");
            Assert.That(await Polling.UntilAsync(() => server.Hub.CountSubscribers(topic) >= 1, ReadTimeout), Is.True, $"subscribed to {topic}");
            return client;
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    /// <summary>One exchange first, so the socket engine, thread pool and JIT hold their descriptors before the baseline.</summary>
    private static async Task<int> WarmUpAsync(TestServer server)
    {
        using (var client = await server.ConnectAsync())
        {
            await client.SendAsync("GET / HTTP/1.1\r\nHost: warm\r\nConnection: close\r\n\r\n");
            var response = await client.ReadResponseAsync(timeout: ReadTimeout);
            Assert.That(response.Status, Is.EqualTo(200), "warm-up request");
            Assert.That(await client.WaitForCloseAsync(ReadTimeout), Is.True, "warm-up connection closed");
        }

        Assert.That(await Polling.UntilAsync(() => IsIdle(server), SettleTimeout), Is.True, "idle after the warm-up");
        return OpenFileDescriptors();
    }

    private static int OpenFileDescriptors() => Directory.GetFileSystemEntries("/proc/self/fd").Length;

    private static string Reasons(TestServer server)
    {
        var metrics = server.Server.Metrics;
        var counts = Enum.GetValues<DisconnectReason>()
            .Select(r => (Reason: r, Count: metrics.Disconnects(r)))
            .Where(x => x.Count > 0)
            .Select(x => $"{DisconnectReasons.Label(x.Reason)}={x.Count}");
        return string.Join(", ", counts) is { Length: > 0 } text ? text : "(none)";
    }
}
