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
/// serves, and holds no connection and no subscriber.
/// </summary>
[TestFixture]
public sealed class FuzzTests
{
    private const int BaseHeadTarget = 100_000;
    private const int Workers = 48;
    private const int MaxReceivedBytes = 4 * 1024 * 1024;
    private const int MaxResponseHeadBytes = 16 * 1024;
    private const int MaxFailures = 25;

    // The server's request-head limits (RequestLimits.Default), which the oversized heads straddle.
    private const int MaxRequestLineBytes = 8 * 1024;
    private const int MaxHeaderBytes = 32 * 1024;
    private const int MaxHeaderCount = 100;

    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan ConnectionDeadline = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan SettleTimeout = TimeSpan.FromSeconds(10);

    private static ReadOnlySpan<byte> StatusPrefix => "HTTP/1.1 "u8;
    private static ReadOnlySpan<byte> RetryPrefix => "retry:"u8;
    private static ReadOnlySpan<byte> CrLf => "\r\n"u8;
    private static ReadOnlySpan<byte> CrLfCrLf => "\r\n\r\n"u8;

    private enum Kind { Valid, Mutated, Huge, Truncated, Stream }

    private enum Ending
    {
        /// <summary>Read until the server closes (a stream that starts unexpectedly is ended with a half-close), then reset.</summary>
        ReadToEof,

        /// <summary>Half-close right after writing, read until the server closes.</summary>
        ShutdownThenEof,

        /// <summary>Reset as soon as everything is written, without reading.</summary>
        ResetAfterWrite,

        /// <summary>Read until the stream has started (or the server closed), then reset.</summary>
        ResetAfterStream,
    }

    private enum Scan { NeedMore, Done, StreamStarted, Invalid }

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
                var script = new Generator(new Random(ConnectionSeed(seed, index)), server.Port).Build(index);
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
                    failures.Enqueue($"seed {seed}, connection #{index} ({script.Kind}, {script.Ending}): {failure}\n    script: {Describe(script)}");
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
    private static async Task<string?> RunConnectionAsync(Script script, IPEndPoint endPoint, IPAddress source, Stats stats, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        using var socket = RawSocket.Create(source);
        using (var connect = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            connect.CancelAfter(ConnectTimeout);
            await socket.ConnectAsync(endPoint, connect.Token);
        }

        Interlocked.Increment(ref stats.Connections);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(ConnectionDeadline);
        var received = new MemoryStream();
        var streamStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var receive = ReceiveAsync(socket, received, script, streamStarted, deadline.Token);

        // Write: the units back to back, cut at the script's points; a head counts as sent once its last byte is written.
        byte[] payload = [.. script.Units.SelectMany(u => u)];
        int written = 0;
        string? writeError = null;
        foreach (int size in script.WriteSizes)
        {
            try
            {
                await RawSocket.SendAllAsync(socket, payload.AsMemory(written, size), deadline.Token);
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
                RawSocket.ResetQuietly(socket);
                return $"a write failed ({writeError}) although every head was valid";
            }
        }

        ReceiveEnd end;
        bool weReset = false;
        switch (script.Ending)
        {
            case Ending.ResetAfterWrite:
                RawSocket.ResetQuietly(socket);
                await receive;
                Interlocked.Increment(ref stats.ClientResets);
                RecordDuration(stats, started);
                return null; // reset by us before reading: nothing to judge

            case Ending.ShutdownThenEof:
                RawSocket.TryShutdownSend(socket);
                end = await receive;
                break;

            case Ending.ResetAfterStream:
                await Task.WhenAny(receive, streamStarted.Task);
                if (!receive.IsCompleted)
                {
                    RawSocket.ResetQuietly(socket);
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
                    RawSocket.TryShutdownSend(socket);
                }

                end = await receive;
                break;
        }

        if (!weReset)
        {
            RawSocket.ResetQuietly(socket); // after the server's close: no TIME_WAIT on either side
        }

        RecordDuration(stats, started);
        if (streamStarted.Task.IsCompleted)
        {
            Interlocked.Increment(ref stats.StreamsStarted);
        }

        switch (end)
        {
            case ReceiveEnd.Timeout:
                return $"the server neither finished nor closed within {ConnectionDeadline.TotalSeconds:F0} s; received {Excerpt(received.ToArray(), 0)}";
            case ReceiveEnd.TooMuch:
                return $"more than {MaxReceivedBytes} bytes arrived";
            case ReceiveEnd.ServerReset:
                if (Interlocked.Increment(ref stats.ServerResets) <= 5)
                {
                    stats.Notes.Enqueue($"connection #{script.Index} ({script.Kind}) was reset by the server after {received.Length} bytes: " +
                        $"{Excerpt(received.ToArray(), 0, 160)}\n    script: {Describe(script)}");
                }

                if (script.Expected is not null)
                {
                    return $"the server reset a connection whose heads were all valid, {Stopwatch.GetElapsedTime(started).TotalMilliseconds:F0} ms after connecting" +
                        $"{(streamStarted.Task.IsCompleted ? " (its stream had started)" : "")}; received {Excerpt(received.ToArray(), 0)}";
                }

                break;
        }

        // A stream we reset, or a reset from the server, may cut the last response short; nothing else may.
        bool truncationAllowed = weReset || end == ReceiveEnd.ServerReset;
        var result = ScanResponses(received.GetBuffer().AsSpan(0, (int)received.Length), complete: true, truncationAllowed, script,
            out int responses, out string error, out bool closeAnnounced);
        Interlocked.Add(ref stats.Responses, responses);
        if (result == Scan.Invalid)
        {
            return error;
        }

        if (end == ReceiveEnd.ServerReset && !closeAnnounced)
        {
            // After "Connection: close" the server may close while pipelined bytes are unread, which resets; otherwise a reset is a fault.
            return $"the server reset the connection without having announced a close, {Stopwatch.GetElapsedTime(started).TotalMilliseconds:F0} ms after connecting" +
                $"{(streamStarted.Task.IsCompleted ? " (a stream had started)" : "")}; received {Excerpt(received.ToArray(), 0)}";
        }

        if (weReset && script.Expected is not null && result != Scan.StreamStarted)
        {
            return $"the stream never started; received {Excerpt(received.ToArray(), 0)}";
        }

        return null;
    }

    private static async Task<ReceiveEnd> ReceiveAsync(Socket socket, MemoryStream into, Script script, TaskCompletionSource streamStarted, CancellationToken cancellationToken)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            while (true)
            {
                int n = await socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
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
                    && ScanResponses(into.GetBuffer().AsSpan(0, (int)into.Length), complete: false, truncationAllowed: false, script, out _, out _) == Scan.StreamStarted)
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

    private static void CountSent(Script script, int written, Stats stats)
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

    // ---- the oracle ------------------------------------------------------------------------------------

    /// <summary>
    /// Walks the bytes as a sequence of HTTP/1.1 responses: a status line "HTTP/1.1 DDD ", header fields, a blank
    /// line, then a body framed by Content-Length (none for 1xx/204/304 or a HEAD), or an event stream whose body
    /// ("retry: …" first) runs to the end. With <see cref="Script.Expected"/> the statuses and their number must match
    /// exactly; without it (mutated heads), a response might answer a HEAD, and is allowed to have no body when
    /// the next bytes are the next status line.
    /// </summary>
    private static Scan ScanResponses(ReadOnlySpan<byte> data, bool complete, bool truncationAllowed, Script script, out int responses, out string error) =>
        ScanResponses(data, complete, truncationAllowed, script, out responses, out error, out _);

    /// <param name="closeAnnounced">Whether a response said Connection: close (after which the server may close at once).</param>
    private static Scan ScanResponses(ReadOnlySpan<byte> data, bool complete, bool truncationAllowed, Script script, out int responses, out string error, out bool closeAnnounced)
    {
        responses = 0;
        error = "";
        closeAnnounced = false;
        var expected = script.Expected;
        int pos = 0;
        while (true)
        {
            var rest = data[pos..];
            if (rest.IsEmpty)
            {
                if (!complete)
                {
                    return Scan.NeedMore;
                }

                if (expected is not null && responses != expected.Count && !truncationAllowed)
                {
                    return Fail(out error, $"{responses} responses, expected {expected.Count}", data, pos);
                }

                return Scan.Done;
            }

            if (expected is not null && responses >= expected.Count)
            {
                return Fail(out error, $"bytes after the {expected.Count} expected responses", data, pos);
            }

            if (!StatusPrefix.StartsWith(rest[..Math.Min(rest.Length, StatusPrefix.Length)]))
            {
                return Fail(out error, "a response that does not begin with \"HTTP/1.1 \"", data, pos);
            }

            int headEnd = rest.IndexOf(CrLfCrLf);
            if (headEnd < 0)
            {
                if (rest.Length > MaxResponseHeadBytes)
                {
                    return Fail(out error, "a response head with no end", data, pos);
                }

                if (!complete)
                {
                    return Scan.NeedMore;
                }

                return truncationAllowed ? Scan.Done : Fail(out error, "a response head cut short", data, pos);
            }

            var head = rest[..headEnd];
            int lineEnd = head.IndexOf(CrLf);
            var statusLine = lineEnd < 0 ? head : head[..lineEnd];
            if (statusLine.Length < 13 || !IsDigit(statusLine[9]) || !IsDigit(statusLine[10]) || !IsDigit(statusLine[11]) || statusLine[12] != (byte)' ')
            {
                return Fail(out error, "a malformed status line", data, pos);
            }

            int status = ((statusLine[9] - '0') * 100) + ((statusLine[10] - '0') * 10) + (statusLine[11] - '0');
            long contentLength = -1;
            bool eventStream = false, close = false;
            var fields = lineEnd < 0 ? [] : head[(lineEnd + 2)..];
            foreach (var range in fields.Split(CrLf))
            {
                var line = fields[range];
                int colon = line.IndexOf((byte)':');
                if (colon <= 0 || line.IndexOfAny((byte)'\r', (byte)'\n', (byte)0) >= 0)
                {
                    return Fail(out error, "a malformed response header field", data, pos);
                }

                var name = Encoding.Latin1.GetString(line[..colon]);
                var value = Encoding.Latin1.GetString(line[(colon + 1)..]).Trim();
                if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
                {
                    if (contentLength >= 0 || !long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out contentLength))
                    {
                        return Fail(out error, "a bad or repeated Content-Length", data, pos);
                    }
                }
                else if (name.Equals("Content-Type", StringComparison.OrdinalIgnoreCase))
                {
                    eventStream = value.StartsWith("text/event-stream", StringComparison.OrdinalIgnoreCase);
                }
                else if (name.Equals("Connection", StringComparison.OrdinalIgnoreCase))
                {
                    close = value.Equals("close", StringComparison.OrdinalIgnoreCase);
                }
            }

            responses++;
            closeAnnounced |= close;
            Expect? expect = expected?[responses - 1];
            if (expect is { } e && (e.Status != status || e.Stream != (eventStream && !e.HeadOnly)))
            {
                return Fail(out error, $"response {responses} is {status}{(eventStream ? " (stream)" : "")}, expected {e.Status}{(e.Stream ? " (stream)" : "")}", data, pos);
            }

            int bodyStart = pos + headEnd + CrLfCrLf.Length;
            var after = data[bodyStart..];
            if (eventStream)
            {
                if (after.StartsWith(RetryPrefix))
                {
                    return Scan.StreamStarted; // the rest is the stream's body: arbitrary events
                }

                bool headOnly = expect?.HeadOnly ?? script.MayBeHead;
                if (!headOnly)
                {
                    if (after.Length < RetryPrefix.Length && RetryPrefix.StartsWith(after))
                    {
                        return !complete ? Scan.NeedMore
                            : truncationAllowed ? Scan.Done
                            : Fail(out error, "an event stream that ended before its retry line", data, pos);
                    }

                    return Fail(out error, "an event stream that does not begin with its retry line", data, bodyStart);
                }

                if (expect is null && after.IsEmpty && !complete)
                {
                    return Scan.NeedMore; // a HEAD's stream head, or a stream's whose first bytes have not arrived
                }

                pos = bodyStart;
            }
            else if (status is (>= 100 and < 200) or 204 or 304)
            {
                pos = bodyStart;
            }
            else if (contentLength >= 0)
            {
                bool bodyless;
                if (expect is { } known)
                {
                    bodyless = known.HeadOnly;
                }
                else if (script.MayBeHead && after.Length < StatusPrefix.Length && StatusPrefix.StartsWith(after))
                {
                    if (!complete)
                    {
                        return Scan.NeedMore;
                    }

                    bodyless = true;
                }
                else
                {
                    bodyless = script.MayBeHead && after.StartsWith(StatusPrefix);
                }

                if (!bodyless && after.Length < contentLength)
                {
                    return !complete ? Scan.NeedMore
                        : truncationAllowed ? Scan.Done
                        : Fail(out error, $"a body of {after.Length} bytes where Content-Length is {contentLength}", data, pos);
                }

                pos = bodyless ? bodyStart : bodyStart + (int)contentLength;
            }
            else
            {
                return Fail(out error, "a response with neither Content-Length nor an event stream", data, pos);
            }

            if (close && pos < data.Length)
            {
                return Fail(out error, "bytes after a Connection: close response", data, pos);
            }
        }
    }

    private static Scan Fail(out string error, string what, ReadOnlySpan<byte> data, int at)
    {
        error = $"{what} at byte {at} of {data.Length}: {Excerpt(data, at)}";
        return Scan.Invalid;
    }

    private static bool IsDigit(byte b) => b is >= (byte)'0' and <= (byte)'9';

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
                return $"GET /sse answered {Tests.Describe.Escape(head.RawHead)}";
            }

            if (!await Polling.UntilAsync(() => server.Hub.CountSubscribers("after-fuzz") == 1, ReadTimeout))
            {
                return "the new stream was never subscribed";
            }

            server.Hub.Publish("after-fuzz", new SseEvent("still-serving"));
            await stream.ReadUntilAsync("data: still-serving\n\n", ReadTimeout);
            return null;
        }
        catch (Exception ex) when (ex is IOException or SocketException or TimeoutException or OperationCanceledException)
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

    /// <summary>The connection's own seed, from the run's seed and its index only (SplitMix64), so any connection can be replayed alone.</summary>
    private static int ConnectionSeed(int seed, int index)
    {
        ulong z = ((ulong)(uint)seed << 32 | (uint)index) + 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return (int)(z ^ (z >> 31));
    }

    private static string Describe(Script script)
    {
        var parts = script.Units.Take(6).Select((u, i) => $"[{script.Tags[i]} {u.Length} B] {Excerpt(u, 0, 120)}");
        return string.Join(" | ", parts) + (script.Units.Count > 6 ? $" | … {script.Units.Count} units in all" : "");
    }

    private static string Excerpt(ReadOnlySpan<byte> data, int at, int max = 300)
    {
        var slice = data[Math.Min(at, data.Length)..];
        var text = new StringBuilder("'");
        foreach (byte b in slice[..Math.Min(slice.Length, max)])
        {
            text.Append(b switch
            {
                (byte)'\r' => "\\r",
                (byte)'\n' => "\\n",
                (byte)'\\' => "\\\\",
                >= 0x20 and < 0x7F => ((char)b).ToString(),
                _ => $"\\x{b:X2}",
            });
        }

        return text.Append(slice.Length > max ? "'…" : "'").ToString();
    }

    // ---- the generator ---------------------------------------------------------------------------------

    private readonly record struct Expect(int Status, bool HeadOnly = false, bool Stream = false);

    private sealed class Script
    {
        public required int Index { get; init; }
        public required Kind Kind { get; init; }
        public required Ending Ending { get; init; }

        /// <summary>What is written, in order: heads (with their bodies), mutated, oversized or truncated heads.</summary>
        public required List<byte[]> Units { get; init; }

        /// <summary>Per unit: 'v' valid, 'm' mutated, 'h' oversized, 't' truncated, 's' stream request.</summary>
        public required List<char> Tags { get; init; }

        /// <summary>The exact responses, in order, when every head's answer is known; null when a mutation makes it unknowable.</summary>
        public List<Expect>? Expected { get; init; }

        /// <summary>Whether any response may answer a HEAD (and so have no body despite its Content-Length).</summary>
        public bool MayBeHead { get; init; }

        public required int[] WriteSizes { get; init; }
    }

    private sealed class Stats
    {
        public readonly ConcurrentQueue<string> Notes = new();
        public long Heads, MutatedHeads, HugeHeads, TruncatedHeads, StreamHeads;
        public long Connections, Responses, StreamsStarted, ClientResets, ServerResets, WriteFailures, SlowestMs;
    }

    /// <summary>Builds one connection's script from its own <see cref="Random"/>.</summary>
    private sealed class Generator(Random rng, int port)
    {
        private static readonly string[] s_topics = ["fz-1", "fz-2", "fz-3", Hub.DefaultTopic];
        private static readonly byte[] s_terminator = Latin1("GET / HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\n\r\n");
        private static readonly byte[][] s_specials =
            [[(byte)'\r'], [(byte)'\n'], [0], [(byte)' '], [(byte)':'], [(byte)'\t'], [0x7F], [0x80], [0xFF], "\r\n"u8.ToArray(), "\r\n\r\n"u8.ToArray()];
        private static readonly string[] s_methods =
            ["get", "GETT", "G", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "TRACE", "PATCH", "CONNECT", "BREW", "PRI", "GET\t", "GE T", ""];
        private static readonly string[] s_versions =
            ["HTTP/1.0", "HTTP/2.0", "HTTP/1.2", "HTTP/0.9", "http/1.1", "HTTP/1.1 ", "HTTP/1.10", "HTTP/1", "HTTP/9.9", "HTTP/1.1\0", "HTTP/1.x", "HTTP/1.1\r"];
        private const string TChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-.^_`|~";

        private readonly List<byte[]> _units = [];
        private readonly List<char> _tags = [];
        private readonly List<Expect> _expected = [];

        public Script Build(int index)
        {
            int roll = rng.Next(100);
            var kind = roll < 12 ? Kind.Valid : roll < 70 ? Kind.Mutated : roll < 80 ? Kind.Huge : roll < 90 ? Kind.Truncated : Kind.Stream;
            bool exact = true;
            Ending ending = Ending.ReadToEof;
            switch (kind)
            {
                case Kind.Valid:
                    AddValid(8 + rng.Next(33));
                    AddTerminator();
                    break;

                case Kind.Mutated:
                    exact = false;
                    AddValid(rng.Next(4));
                    for (int m = 1 + rng.Next(4); m > 0; m--)
                    {
                        Add(Mutate(Valid().Bytes), 'm');
                        AddValid(rng.Next(2));
                    }

                    AddValid(rng.Next(3));
                    AddTerminator();
                    ending = rng.Next(5) == 0 ? Ending.ResetAfterWrite : Ending.ReadToEof;
                    break;

                case Kind.Huge:
                    AddValid(rng.Next(3));
                    var (huge, hugeExpect) = Oversized();
                    Add(huge, 'h', hugeExpect);
                    if (hugeExpect.Status is not (414 or 431))
                    {
                        AddValid(rng.Next(3));
                        AddTerminator();
                    }
                    else
                    {
                        // Sent, but never answered: the server closes after refusing the oversized head.
                        for (int i = rng.Next(3); i > 0; i--)
                        {
                            Add(Valid().Bytes, 'v');
                        }
                    }

                    break;

                case Kind.Truncated:
                    AddValid(rng.Next(5));
                    var whole = Valid().Bytes;
                    if (rng.Next(10) < 3)
                    {
                        whole = Mutate(whole);
                        exact = false;
                    }

                    // A proper prefix is never a complete head (or head and body): it gets no answer.
                    Add(whole[..(1 + rng.Next(whole.Length - 1))], 't');
                    ending = rng.Next(2) == 0 ? Ending.ShutdownThenEof : Ending.ResetAfterWrite;
                    break;

                default:
                    AddValid(rng.Next(3));
                    string target = rng.Next(4) switch
                    {
                        0 => "/sse",
                        1 => $"/sse?topic={Pick(s_topics)}&topic={Pick(s_topics)}",
                        2 => $"http://127.0.0.1:{port}/sse?topic={Pick(s_topics)}&lastEventId={rng.Next(50)}",
                        _ => $"/sse?topic={Pick(s_topics)}",
                    };
                    var subscribe = Latin1(
                        $"GET {target} HTTP/1.1\r\nHost: fuzz\r\nAccept: text/event-stream\r\n"
                        + (rng.Next(4) == 0 ? $"Last-Event-ID: {rng.Next(200)}\r\n" : "") + Extras() + "\r\n");
                    if (rng.Next(4) == 0)
                    {
                        subscribe = Mutate(subscribe);
                        exact = false;
                    }

                    Add(subscribe, 's', new Expect(200, Stream: true));
                    if (rng.Next(3) == 0)
                    {
                        Add(Valid().Bytes, 'v'); // pipelined behind a stream: swallowed, never answered
                    }

                    int end = rng.Next(20);
                    ending = end < 11 ? Ending.ResetAfterStream : end < 16 ? Ending.ShutdownThenEof : Ending.ResetAfterWrite;
                    break;
            }

            return new Script
            {
                Index = index,
                Kind = kind,
                Ending = ending,
                Units = _units,
                Tags = _tags,
                Expected = exact ? _expected : null,
                MayBeHead = _units.Any(u => u.AsSpan().IndexOf("HEAD"u8) >= 0),
                WriteSizes = Cuts(_units.Sum(u => u.Length)),
            };
        }

        private void Add(byte[] unit, char tag, Expect? expect = null)
        {
            _units.Add(unit);
            _tags.Add(tag);
            if (expect is { } e)
            {
                _expected.Add(e);
            }
        }

        private void AddValid(int count)
        {
            for (int i = 0; i < count; i++)
            {
                var (bytes, expect) = Valid();
                Add(bytes, 'v', expect);
            }
        }

        private void AddTerminator() => Add(s_terminator, 'v', new Expect(200));

        /// <summary>Write sizes: one write, a few, or (for small payloads) many tiny ones; cut at random points.</summary>
        private int[] Cuts(int total)
        {
            int roll = rng.Next(100);
            int writes = roll < 40 ? 1 : roll < 88 || total > 4096 ? 2 + rng.Next(7) : 16 + rng.Next(49);
            writes = Math.Min(writes, total);
            var points = new SortedSet<int> { 0, total };
            while (points.Count < writes + 1)
            {
                points.Add(1 + rng.Next(total - 1));
            }

            var list = points.ToArray();
            return [.. list.Skip(1).Select((p, i) => p - list[i])];
        }

        /// <summary>A valid head (with its body, if any) and the response it must get.</summary>
        public (byte[] Bytes, Expect Expect) Valid()
        {
            string host = Pick("Host: fuzz\r\n", "host:fuzz\r\n", "HOST: \t fuzz \t\r\n", $"Host: 127.0.0.1:{port}\r\n");
            string fields = rng.Next(2) == 0 ? host + Extras() : Extras() + host;
            string topic = Pick(s_topics);
            switch (rng.Next(26))
            {
                case 0:
                case 1:
                    return Head("GET / HTTP/1.1", fields, 200);
                case 2:
                    return Head("GET /index.html HTTP/1.1", fields, 200);
                case 3:
                    return Head("HEAD / HTTP/1.1", fields, 200, headOnly: true);
                case 4:
                    return Head($"GET /nope-{rng.Next(1000)} HTTP/1.1", fields, 404);
                case 5:
                    return Head($"GET http://127.0.0.1:{port}/index.html HTTP/1.1", fields, 200);
                case 6:
                    return Head("GET HTTP://fuzz?x=1 HTTP/1.1", fields, 200);
                case 7:
                    return Head($"HEAD /sse?topic={topic} HTTP/1.1", fields, 200, headOnly: true);
                case 8:
                    return Head(Pick("GET /sse?topic=%zz HTTP/1.1", $"GET /sse?topic={new string('t', 257)} HTTP/1.1"), fields, 400);
                case 9:
                case 10:
                {
                    string form = $"topic={topic}&data=fuzz+{rng.Next(100_000)}" + (rng.Next(4) == 0 ? $"&id=e{rng.Next(1000)}" : "") + (rng.Next(4) == 0 ? "&type=fz" : "");
                    return Head("POST /publish HTTP/1.1", fields + $"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {form.Length}\r\n", 200, body: form);
                }

                case 11:
                    return Head("POST /publish HTTP/1.1", fields + "Content-Type: text/plain\r\nContent-Length: 9\r\n", 415, body: "data=oops");
                case 12:
                    return Head("POST /publish HTTP/1.1", fields + "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 15\r\n", 400, body: "topic=a&data=%g");
                case 13:
                    return Head("OPTIONS / HTTP/1.1", fields, 405);
                case 14:
                    return Head("GET / HTTP/1.1", fields + "If-None-Match: *\r\n", 304);
                case 15:
                    return Head("GET /metrics HTTP/1.1", fields, 200);
                case 16:
                    return Head("GET / HTTP/1.0", "Connection: keep-alive\r\n" + Extras(), 200);
                case 17:
                    return Head(Pick("GET /a/../index.html HTTP/1.1", "GET /%69ndex.html HTTP/1.1", "GET //./index.html HTTP/1.1"), fields, 200);
                case 18:
                {
                    string body = VisibleText(1 + rng.Next(64));
                    return Head("GET / HTTP/1.1", fields + $"Content-Length: {body.Length}\r\n", 200, body: body);
                }

                case 19:
                    return Head(Pick("GET /../etc/passwd HTTP/1.1", "GET /.hidden HTTP/1.1", "GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1"), fields, 404);
                case 20:
                    return Head("DELETE /publish HTTP/1.1", fields, 405);
                case 21:
                    return Head("HEAD /publish HTTP/1.1", fields, 405, headOnly: true);
                case 22:
                {
                    // RFC 9112 §2.2: one empty line before the request-line is ignored.
                    var (bytes, expect) = Head("GET / HTTP/1.1", fields, 200);
                    return ([(byte)'\r', (byte)'\n', .. bytes], expect);
                }

                case 23:
                    return Head("GET /index.html?x=1&y HTTP/1.1", fields, 200);
                case 24:
                    return Head("GET /sse?topic=%00 HTTP/1.1", fields, 400);
                default:
                    return Head("GET / HTTP/1.1", fields + "Content-Length: 0\r\n", 200);
            }
        }

        private static (byte[] Bytes, Expect Expect) Head(string requestLine, string fields, int status, bool headOnly = false, string body = "") =>
            (Latin1(requestLine + "\r\n" + fields + "\r\n" + body), new Expect(status, headOnly));

        /// <summary>Heads at, just past and far past the 8 KiB request-line, 32 KiB header and 100-field limits.</summary>
        private (byte[] Bytes, Expect Expect) Oversized()
        {
            switch (rng.Next(8))
            {
                case 0:
                case 1:
                {
                    // "GET /" + path + " HTTP/1.1": the line and its CRLF fill the limit exactly, or overflow it by one or by many.
                    int overflow = rng.Next(3) switch { 0 => 0, 1 => 1, _ => 2 + rng.Next(12_000) };
                    int pathLength = MaxRequestLineBytes - "GET / HTTP/1.1\r\n".Length + overflow;
                    return (Latin1($"GET /{VisiblePath(pathLength)} HTTP/1.1\r\nHost: fuzz\r\n\r\n"), new Expect(overflow == 0 ? 404 : 414));
                }

                case 2:
                case 3:
                {
                    // Field lines with their CRLFs, plus the blank line: exactly the limit, one over, or far over.
                    int overflow = rng.Next(3) switch { 0 => 0, 1 => 1, _ => 2 + rng.Next(12_000) };
                    int valueLength = MaxHeaderBytes - "Host: fuzz\r\n".Length - "X-Big: \r\n".Length - 2 + overflow;
                    return (Latin1($"GET / HTTP/1.1\r\nHost: fuzz\r\nX-Big: {VisibleText(valueLength)}\r\n\r\n"), new Expect(overflow == 0 ? 200 : 431));
                }

                case 4:
                case 5:
                {
                    int count = rng.Next(2) == 0 ? MaxHeaderCount : MaxHeaderCount + 1 + rng.Next(60);
                    var fields = new StringBuilder("Host: fuzz\r\n");
                    for (int i = 1; i < count; i++)
                    {
                        fields.Append(CultureInfo.InvariantCulture, $"X-F{i}: {VisibleText(1 + rng.Next(8))}\r\n");
                    }

                    return (Latin1($"GET / HTTP/1.1\r\n{fields}\r\n"), new Expect(count <= MaxHeaderCount ? 200 : 431));
                }

                case 6:
                    // Large but within every limit.
                    return (Latin1($"GET / HTTP/1.1\r\nHost: fuzz\r\nX-A: {VisibleText(12_000 + rng.Next(4_000))}\r\nX-B: {VisibleText(12_000 + rng.Next(4_000))}\r\n\r\n"), new Expect(200));

                default:
                    // Many short lines whose sum, not any single one, crosses 32 KiB.
                    var many = new StringBuilder("Host: fuzz\r\n");
                    for (int i = 0; i < 60; i++)
                    {
                        many.Append(CultureInfo.InvariantCulture, $"X-L{i}: {VisibleText(600)}\r\n");
                    }

                    return (Latin1($"GET / HTTP/1.1\r\n{many}\r\n"), new Expect(431));
            }
        }

        // ---- mutations -----------------------------------------------------------------------------------

        public byte[] Mutate(byte[] original)
        {
            var bytes = new List<byte>(original);
            int count = rng.Next(10) < 6 ? 1 : 2 + rng.Next(3);
            for (int i = 0; i < count; i++)
            {
                MutateOnce(bytes);
            }

            return [.. bytes];
        }

        private void MutateOnce(List<byte> b)
        {
            if (b.Count == 0)
            {
                b.AddRange(Latin1(VisibleText(1 + rng.Next(8))));
                return;
            }

            int pos = rng.Next(b.Count);
            switch (rng.Next(15))
            {
                case 0:
                case 1:
                    b[pos] ^= (byte)(1 << rng.Next(8));
                    break;
                case 2:
                    b[pos] = (byte)rng.Next(256);
                    break;
                case 3:
                case 4:
                    b.InsertRange(rng.Next(b.Count + 1), s_specials[rng.Next(s_specials.Length)]);
                    break;
                case 5:
                    b.RemoveRange(pos, Math.Min(1 + rng.Next(8), b.Count - pos));
                    break;
                case 6:
                    DuplicateLine(b);
                    break;
                case 7:
                    InsertField(b, RandomField());
                    break;
                case 8:
                    // A value straddling the 8 KiB line or 32 KiB head limit.
                    InsertField(b, Latin1($"X-Huge: {VisibleText(Pick(8_000, 8_200, 30_000, 32_800, 36_000 + rng.Next(6_000)))}\r\n"));
                    break;
                case 9:
                {
                    // A longer request-target, around the 8 KiB line limit.
                    int slash = b.IndexOf((byte)'/');
                    b.InsertRange(slash < 0 ? 0 : slash + 1, Latin1(VisiblePath(Pick(100, 8_150, 8_200, 9_000))));
                    break;
                }

                case 10:
                {
                    var fields = new StringBuilder();
                    for (int i = 95 + rng.Next(40); i > 0; i--)
                    {
                        fields.Append(CultureInfo.InvariantCulture, $"X-M{i}: v\r\n");
                    }

                    InsertField(b, Latin1(fields.ToString()));
                    break;
                }

                case 11:
                    ReplaceFirst(b, "HTTP/1."u8, 8, Latin1(Pick(s_versions)));
                    break;
                case 12:
                {
                    int space = b.IndexOf((byte)' ');
                    if (space >= 0)
                    {
                        b.RemoveRange(0, space);
                        b.InsertRange(0, Latin1(rng.Next(3) == 0 ? Token(1 + rng.Next(12)) : Pick(s_methods)));
                    }

                    break;
                }

                case 13:
                {
                    // A bare LF where a CRLF was.
                    int lf = b.IndexOf((byte)'\n', pos);
                    if (lf > 0 && b[lf - 1] == (byte)'\r')
                    {
                        b.RemoveAt(lf - 1);
                    }

                    break;
                }

                default:
                    // obs-fold: a field line starting with whitespace.
                    InsertField(b, Latin1(Pick(" folded\r\n", "\tfolded\r\n", " \r\n")));
                    break;
            }
        }

        private byte[] RandomField()
        {
            string name = rng.Next(5) == 0 ? Pick("Host", "Content-Length", "Transfer-Encoding", "Connection", "Last-Event-ID", "If-None-Match", "Content-Type") : Token(1 + rng.Next(20));
            var value = new List<byte>();
            for (int i = rng.Next(40); i > 0; i--)
            {
                int kind = rng.Next(10);
                value.Add(kind < 7 ? (byte)(0x20 + rng.Next(0x5F)) : kind < 9 ? (byte)(0x80 + rng.Next(0x80)) : (byte)rng.Next(0x20));
            }

            string separator = Pick(": ", ":", " : ", ":\t", "");
            return [.. Latin1(name + separator), .. value, (byte)'\r', (byte)'\n'];
        }

        /// <summary>Inserts at the start of a random field line (or right before the blank line ending the head).</summary>
        private void InsertField(List<byte> b, byte[] field)
        {
            var starts = new List<int>();
            for (int i = 2; i <= b.Count; i++)
            {
                if (b[i - 2] == (byte)'\r' && b[i - 1] == (byte)'\n')
                {
                    starts.Add(i);
                    if (i + 1 < b.Count && b[i] == (byte)'\r' && b[i + 1] == (byte)'\n')
                    {
                        break; // the blank line: the head ends here
                    }
                }
            }

            b.InsertRange(starts.Count == 0 ? rng.Next(b.Count + 1) : starts[rng.Next(starts.Count)], field);
        }

        private void DuplicateLine(List<byte> b)
        {
            int first = IndexOf(b, CrLf, 0);
            if (first < 0)
            {
                return;
            }

            var starts = new List<int>();
            int i = first + 2;
            while (i < b.Count)
            {
                int end = IndexOf(b, CrLf, i);
                if (end <= i)
                {
                    break; // no more lines, or the blank line ending the head
                }

                starts.Add(i);
                i = end + 2;
            }

            if (starts.Count == 0)
            {
                return;
            }

            int start = starts[rng.Next(starts.Count)];
            int lineEnd = IndexOf(b, CrLf, start) + 2;
            b.InsertRange(lineEnd, b.GetRange(start, lineEnd - start));
        }

        private static void ReplaceFirst(List<byte> b, ReadOnlySpan<byte> find, int length, byte[] with)
        {
            int at = IndexOf(b, find, 0);
            if (at >= 0 && at + length <= b.Count)
            {
                b.RemoveRange(at, length);
                b.InsertRange(at, with);
            }
        }

        private static int IndexOf(List<byte> b, ReadOnlySpan<byte> find, int from)
        {
            if (from < 0 || from > b.Count)
            {
                return -1;
            }

            int at = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(b)[from..].IndexOf(find);
            return at < 0 ? -1 : at + from;
        }

        private string Extras()
        {
            var text = new StringBuilder();
            for (int i = rng.Next(4); i > 0; i--)
            {
                text.Append(rng.Next(10) switch
                {
                    0 => "User-Agent: rawsse-fuzz/1.0\r\n",
                    1 => "Accept: */*\r\n",
                    2 => "Accept-Encoding: gzip, br\r\n",
                    3 => "Cookie: a=b; c=d\r\n",
                    4 => "Cache-Control: no-cache\r\n",
                    5 => "Connection: keep-alive\r\n",
                    6 => "X-Obs-Text: caf\u00e9 \u00ff\r\n",
                    7 => "X-Empty:\r\n",
                    8 => "X-Tab:\tvalue\t\r\n",
                    _ => $"X-Fuzz-{rng.Next(100)}: {VisibleText(rng.Next(40))}\r\n",
                });
            }

            return text.ToString();
        }

        private string VisibleText(int length)
        {
            return string.Create(length, rng, static (span, r) =>
            {
                for (int i = 0; i < span.Length; i++)
                {
                    span[i] = (char)(0x21 + r.Next(0x5E));
                }
            });
        }

        private string VisiblePath(int length)
        {
            const string chars = "abcdefghijklmnopqrstuvwxyz0123456789-_~.";
            return string.Create(length, rng, static (span, r) =>
            {
                for (int i = 0; i < span.Length; i++)
                {
                    span[i] = i % 64 == 63 ? '/' : chars[r.Next(chars.Length)];
                }
            });
        }

        private string Token(int length) =>
            string.Create(length, rng, static (span, r) =>
            {
                for (int i = 0; i < span.Length; i++)
                {
                    span[i] = TChars[r.Next(TChars.Length)];
                }
            });

        private T Pick<T>(params T[] choices) => choices[rng.Next(choices.Length)];

        private static byte[] Latin1(string text) => Encoding.Latin1.GetBytes(text);
    }
}
