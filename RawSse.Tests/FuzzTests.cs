using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using RawSse.Sse;

namespace RawSse.Tests;

/// <summary>
/// A seeded fuzz of the request path on a live server: generated, mutated, oversized, truncated, pipelined and
/// split request heads, and SSE subscriptions that end cleanly or with a reset. Every connection's script comes
/// from the seed and the connection's index alone, so a failure names both and can be replayed
/// (<c>RAWSSE_FUZZ_SEED</c> fixes the seed; <c>RAWSSE_FUZZ_LONG=1</c> sends ten times as many heads).
/// The oracle: whatever the server sends is a sequence of well-framed HTTP/1.1 responses (for scripts of valid
/// heads: exactly the expected statuses, in order), or nothing; it never logs an error; and afterwards it still
/// serves, and holds no connection and no subscriber. The scripts come from <see cref="FuzzGenerator"/>, the
/// verdict on what arrived from <see cref="FuzzOracle"/>; this file runs the connections and counts.
/// </summary>
[TestFixture]
public sealed class FuzzTests
{
    private const int BaseHeadTarget = 100_000;
    private const int Workers = 48;
    private const int MaxReceivedBytes = 4 * 1024 * 1024;
    private const int MaxFailures = 25;

    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan ConnectionDeadline = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan SettleTimeout = TimeSpan.FromSeconds(10);

    private enum ReceiveEnd { Eof, ServerReset, Aborted, Timeout, TooMuch }

    [Test]
    [CancelAfter(15 * 60 * 1000)] // the long run's ceiling; the normal run stops itself after its own budget (below)
    public async Task Serve_FuzzedHeadsPipelinesAndStreams_OnlyValidResponsesNoErrorsNothingLeaked(CancellationToken cancellationToken)
    {
        // Arrange
        int seed = ReadSeed();
        bool longRun = Environment.GetEnvironmentVariable("RAWSSE_FUZZ_LONG") == "1";
        long target = longRun ? BaseHeadTarget * 10L : BaseHeadTarget;
        var budget = longRun ? TimeSpan.FromMinutes(12) : TimeSpan.FromSeconds(90);
        TestContext.Out.WriteLine($"fuzz seed {seed} (replay with RAWSSE_FUZZ_SEED={seed}); target {target:N0} heads, {Workers} workers");

        await using var server = TestServer.Start(o =>
        {
            o.RequestTimeout = TimeSpan.FromSeconds(2);
            o.KeepAliveTimeout = TimeSpan.FromSeconds(2);
        }, LogLevel.Warning);
        var stats = new Stats();
        var failures = new ConcurrentQueue<string>();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        stop.CancelAfter(budget);
        int nextIndex = -1;
        var stopwatch = Stopwatch.StartNew();

        // Act
        async Task WorkerAsync()
        {
            while (Interlocked.Read(ref stats.Heads) < target && !stop.IsCancellationRequested && failures.Count < MaxFailures)
            {
                int index = Interlocked.Increment(ref nextIndex);
                var script = new FuzzGenerator(new Random(FuzzGenerator.ConnectionSeed(seed, index)), server.Port).Build(index);
                string? failure;
                try
                {
                    failure = await RunConnectionAsync(script, server.EndPoint, Loopback.Sources[index % Loopback.Sources.Length], stats, stop.Token);
                }
                catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException)
                {
                    failure = $"{ex.GetType().Name}: {ex.Message}";
                }

                // Past the budget, connections are cut by it: the head count below reports that instead.
                if (failure is not null && !stop.IsCancellationRequested)
                {
                    failures.Enqueue($"seed {seed}, connection #{index} ({script.Kind}, {script.Ending}): {failure}\n    script: {script.Describe()}");
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(0, Workers).Select(_ => Task.Run(WorkerAsync, CancellationToken.None)));
        stopwatch.Stop();
        TestContext.Out.WriteLine(
            $"fuzz: {stats.Heads:N0} heads ({stats.MutatedHeads:N0} mutated, {stats.HugeHeads:N0} oversized, {stats.TruncatedHeads:N0} truncated, " +
            $"{stats.StreamHeads:N0} stream requests) over {stats.Connections:N0} connections in {stopwatch.Elapsed.TotalSeconds:F1} s; " +
            $"{stats.Responses:N0} responses read, {stats.StreamsStarted:N0} streams started, {stats.ClientResets:N0} client resets, " +
            $"{stats.ServerResets:N0} server resets, {stats.WriteFailures:N0} writes cut short, slowest connection {stats.SlowestMs} ms");

        foreach (var note in stats.Notes)
        {
            TestContext.Out.WriteLine($"note: {note}");
        }

        foreach (var failure in failures.Take(10))
        {
            TestContext.Out.WriteLine($"wrong answer: {failure}");
        }

        var afterFuzz = await ProbeAsync(server);
        bool drained = await Polling.UntilAsync(() => server.Server.ConnectionCount == 0 && server.Hub.SubscriberCount == 0, SettleTimeout);
        var errors = server.Logs.Errors.ToList();
        foreach (var error in errors.Take(20))
        {
            TestContext.Out.WriteLine($"error logged: {error}");
        }

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(failures, Is.Empty, $"{failures.Count} connection(s) got a wrong answer:\n" + string.Join("\n", failures));
            Assert.That(stats.Heads, Is.GreaterThanOrEqualTo(target),
                $"only {stats.Heads:N0} heads were sent (budget {budget.TotalSeconds:F0} s; {failures.Count} failures, the run stops after {MaxFailures}; seed {seed})");
            Assert.That(errors, Is.Empty, "Error-level log entries");
            Assert.That(afterFuzz, Is.Null, "the server after the fuzz");
            Assert.That(drained, Is.True,
                $"connections={server.Server.ConnectionCount}, subscribers={server.Hub.SubscriberCount} {SettleTimeout.TotalSeconds:F0} s after the fuzz");
        });
    }

    // ---- one connection ----------------------------------------------------------------------------------

    /// <summary>Runs one script. Returns null when the server's answer was acceptable, else what was wrong.</summary>
    private static async Task<string?> RunConnectionAsync(FuzzScript script, IPEndPoint endPoint, IPAddress source, Stats stats, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        using var client = await RawClient.ConnectAsync(endPoint, source, timeout: ConnectTimeout, cancellationToken: cancellationToken);
        Interlocked.Increment(ref stats.Connections);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(ConnectionDeadline);
        var received = new MemoryStream();
        var streamStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var receive = ReceiveAsync(client, received, script, streamStarted, deadline.Token);

        // Write: the units back to back, cut at the script's points; a head counts as sent once its last byte is written.
        byte[] payload = [.. script.Units.SelectMany(u => u)];
        int written = 0;
        string? writeError = null;
        foreach (int size in script.WriteSizes)
        {
            try
            {
                await client.SendAsync(payload.AsMemory(written, size), deadline.Token);
                written += size;
            }
            catch (SocketException ex)
            {
                writeError = ex.SocketErrorCode.ToString();
                break;
            }
        }

        CountSent(script, written, stats);
        if (writeError is not null)
        {
            Interlocked.Increment(ref stats.WriteFailures);
            if (script.Expected is not null)
            {
                client.Reset();
                return $"a write failed ({writeError}) although every head was valid";
            }
        }

        ReceiveEnd end;
        bool weReset = false;
        switch (script.Ending)
        {
            case FuzzEnding.ResetAfterWrite:
                client.Reset();
                await receive;
                Interlocked.Increment(ref stats.ClientResets);
                RecordDuration(stats, started);
                return null; // reset by us before reading: nothing to judge

            case FuzzEnding.ShutdownThenEof:
                client.ShutdownSend();
                end = await receive;
                break;

            case FuzzEnding.ResetAfterStream:
                await Task.WhenAny(receive, streamStarted.Task);
                if (!receive.IsCompleted)
                {
                    client.Reset();
                    weReset = true;
                    Interlocked.Increment(ref stats.ClientResets);
                }

                end = await receive;
                if (weReset && end == ReceiveEnd.ServerReset)
                {
                    end = ReceiveEnd.Aborted; // .NET disconnects a socket disposed under a pending read: the ECONNRESET is our own
                }

                break;

            default:
                if (await Task.WhenAny(receive, streamStarted.Task) != receive)
                {
                    // A (mutated) head opened a stream, which ends only when the client does: end it cleanly.
                    client.ShutdownSend();
                }

                end = await receive;
                break;
        }

        if (!weReset)
        {
            client.Reset(); // after the server's close: no TIME_WAIT on either side
        }

        RecordDuration(stats, started);
        if (streamStarted.Task.IsCompleted)
        {
            Interlocked.Increment(ref stats.StreamsStarted);
        }

        switch (end)
        {
            case ReceiveEnd.Timeout:
                return $"the server neither finished nor closed within {ConnectionDeadline.TotalSeconds:F0} s; received {Describe.Bytes(received.ToArray(), 0)}";
            case ReceiveEnd.TooMuch:
                return $"more than {MaxReceivedBytes} bytes arrived";
            case ReceiveEnd.ServerReset:
                if (Interlocked.Increment(ref stats.ServerResets) <= 5)
                {
                    stats.Notes.Enqueue($"connection #{script.Index} ({script.Kind}) was reset by the server after {received.Length} bytes: " +
                        $"{Describe.Bytes(received.ToArray(), 0, 160)}\n    script: {script.Describe()}");
                }

                if (script.Expected is not null)
                {
                    return $"the server reset a connection whose heads were all valid, {Stopwatch.GetElapsedTime(started).TotalMilliseconds:F0} ms after connecting" +
                        $"{(streamStarted.Task.IsCompleted ? " (its stream had started)" : "")}; received {Describe.Bytes(received.ToArray(), 0)}";
                }

                break;
        }

        // A stream we reset, or a reset from the server, may cut the last response short; nothing else may.
        bool truncationAllowed = weReset || end == ReceiveEnd.ServerReset;
        var result = FuzzOracle.Judge(received.GetBuffer().AsSpan(0, (int)received.Length), complete: true, truncationAllowed, script,
            out int responses, out string error, out bool closeAnnounced);
        Interlocked.Add(ref stats.Responses, responses);
        if (result == FuzzVerdict.Invalid)
        {
            return error;
        }

        // A client that keeps sending on an open stream is closed once it has sent more than 64 KiB there, with its
        // bytes unread: that close is a reset, and it is the answer such a client earns.
        bool floodedStream = streamStarted.Task.IsCompleted && script.Units.Sum(u => (long)u.Length) > 64 * 1024;
        if (end == ReceiveEnd.ServerReset && !closeAnnounced && !floodedStream)
        {
            // After "Connection: close" the server may close while pipelined bytes are unread, which resets; otherwise a reset is a fault.
            return $"the server reset the connection without having announced a close, {Stopwatch.GetElapsedTime(started).TotalMilliseconds:F0} ms after connecting" +
                $"{(streamStarted.Task.IsCompleted ? " (a stream had started)" : "")}; received {Describe.Bytes(received.ToArray(), 0)}";
        }

        if (weReset && script.Expected is not null && result != FuzzVerdict.StreamStarted)
        {
            return $"the stream never started; received {Describe.Bytes(received.ToArray(), 0)}";
        }

        return null;
    }

    private static async Task<ReceiveEnd> ReceiveAsync(RawClient client, MemoryStream into, FuzzScript script, TaskCompletionSource streamStarted, CancellationToken cancellationToken)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            while (true)
            {
                int n = await client.ReceiveAsync(buffer, cancellationToken);
                if (n == 0)
                {
                    return ReceiveEnd.Eof;
                }

                into.Write(buffer, 0, n);
                if (into.Length > MaxReceivedBytes)
                {
                    return ReceiveEnd.TooMuch;
                }

                if (!streamStarted.Task.IsCompleted
                    && FuzzOracle.Judge(into.GetBuffer().AsSpan(0, (int)into.Length), complete: false, truncationAllowed: false, script, out _, out _) == FuzzVerdict.StreamStarted)
                {
                    streamStarted.TrySetResult();
                }
            }
        }
        catch (OperationCanceledException)
        {
            return ReceiveEnd.Timeout;
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionReset)
        {
            return ReceiveEnd.ServerReset;
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            return ReceiveEnd.Aborted; // our own reset closed the socket under the read
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static void CountSent(FuzzScript script, int written, Stats stats)
    {
        int end = 0;
        for (int i = 0; i < script.Units.Count; i++)
        {
            end += script.Units[i].Length;
            if (end > written)
            {
                break;
            }

            Interlocked.Increment(ref stats.Heads);
            switch (script.Tags[i])
            {
                case 'm': Interlocked.Increment(ref stats.MutatedHeads); break;
                case 'h': Interlocked.Increment(ref stats.HugeHeads); break;
                case 't': Interlocked.Increment(ref stats.TruncatedHeads); break;
                case 's': Interlocked.Increment(ref stats.StreamHeads); break;
            }
        }
    }

    private static void RecordDuration(Stats stats, long started)
    {
        long ms = (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        long seen;
        while (ms > (seen = Interlocked.Read(ref stats.SlowestMs)) && Interlocked.CompareExchange(ref stats.SlowestMs, ms, seen) != seen)
        {
        }
    }

    // ---- the server afterwards ------------------------------------------------------------------------

    /// <summary>GET / answers 200 and a new stream gets a published event. Null when so, else what went wrong.</summary>
    private static async Task<string?> ProbeAsync(TestServer server)
    {
        try
        {
            using (var client = await server.ConnectAsync())
            {
                await client.SendAsync("GET / HTTP/1.1\r\nHost: probe\r\n\r\n");
                var response = await client.ReadResponseAsync(timeout: ReadTimeout);
                if (response.Status != 200)
                {
                    return $"GET / answered {response.StatusLine}";
                }
            }

            using var stream = await server.ConnectAsync();
            await stream.SendAsync("GET /sse?topic=after-fuzz HTTP/1.1\r\nHost: probe\r\nAccept: text/event-stream\r\n\r\n");
            var head = await stream.ReadResponseAsync(expectBody: false, timeout: ReadTimeout);
            if (head.Status != 200 || !head.Headers.TryGetValue("Content-Type", out var type) || !type.StartsWith("text/event-stream", StringComparison.Ordinal))
            {
                return $"GET /sse answered {Describe.Escape(head.RawHead)}";
            }

            if (!await Polling.UntilAsync(() => server.Hub.CountSubscribers("after-fuzz") == 1, ReadTimeout))
            {
                return "the new stream was never subscribed";
            }

            server.Hub.Publish("after-fuzz", new SseEvent("still-serving"));
            await stream.ReadUntilAsync("data: still-serving\n\n", ReadTimeout);
            return null;
        }
        catch (Exception ex) when (ex is IOException or SocketException or TimeoutException or OperationCanceledException or FormatException)
        {
            return $"{ex.GetType().Name}: {ex.Message}";
        }
    }

    // ---- seeds and reports -----------------------------------------------------------------------------

    private static int ReadSeed()
    {
        var text = Environment.GetEnvironmentVariable("RAWSSE_FUZZ_SEED");
        if (!string.IsNullOrWhiteSpace(text))
        {
            return int.Parse(text, NumberStyles.Integer, CultureInfo.InvariantCulture);
        }

        return Random.Shared.Next();
    }

    private sealed class Stats
    {
        public readonly ConcurrentQueue<string> Notes = new();
        public long Heads, MutatedHeads, HugeHeads, TruncatedHeads, StreamHeads;
        public long Connections, Responses, StreamsStarted, ClientResets, ServerResets, WriteFailures, SlowestMs;
    }
}
