using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace RawSse.Tests;

/// <summary>The executable as a user runs it: its listening line, its options, and SIGTERM with streams open.</summary>
[TestFixture]
public sealed partial class ProcessTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(15);

    [Test]
    public async Task Run_Sigterm_WithStreamsOpen_StreamsEndCleanlyAndExitsZero()
    {
        // Arrange: the real executable on a free port, with three streams that have each seen a tick.
        using var process = StartServer("--port", "0", "--interval", "100", "--shutdown-timeout", "1000", "--root", RepoPaths.Public);
        int port = await ReadListeningPortAsync(process);
        var clients = new List<RawClient>();
        try
        {
            for (int i = 0; i < 3; i++)
            {
                var client = await RawClient.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), timeout: Deadline);
                clients.Add(client);
                await client.SendAsync("GET /sse HTTP/1.1\r\nHost: localhost\r\n\r\n");
                await client.ReadUntilAsync("event: tick", Deadline);
            }

            // Act
            var clock = Stopwatch.StartNew();
            Assert.That(Signals.Terminate(process.Id), Is.True, "kill(SIGTERM) failed");
            bool exited = await WaitForExitAsync(process, TimeSpan.FromSeconds(3));

            // Assert: each stream reads a clean end (0 from a read, not a reset), and the process exits 0 within the grace period.
            foreach (var client in clients)
            {
                var (end, _) = await client.ReadEndAsync(Deadline);
                Assert.That(end, Is.EqualTo(ReadEnd.Eof), "a stream did not end with a clean EOF");
            }

            Assert.That(exited, Is.True, $"still running {clock.Elapsed.TotalSeconds:F1} s after SIGTERM");
            Assert.That(process.ExitCode, Is.Zero, await process.StandardError.ReadToEndAsync());
            Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(2)), "exit took longer than the 1 s grace period allows");
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }

    [Test]
    public async Task Run_Defaults_CompletionsInlineAndStreamsFilesAndPublishesWork()
    {
        // Arrange: the executable turns inline socket completions on for itself (one event thread per core).
        using var process = StartServer("--port", "0", "--interval", "0", "--root", RepoPaths.Public);
        int port = await ReadListeningPortAsync(process);
        var endPoint = new IPEndPoint(IPAddress.Loopback, port);
        var sockets = new List<RawClient>();
        try
        {
            for (int i = 0; i < 2; i++)
            {
                var stream = await RawClient.ConnectAsync(endPoint, timeout: Deadline);
                sockets.Add(stream);
                await stream.SendAsync("GET /sse?topic=p HTTP/1.1\r\nHost: localhost\r\n\r\n");
                await stream.ReadUntilAsync("retry: 2000\n\n", Deadline);
            }

            var client = await RawClient.ConnectAsync(endPoint, timeout: Deadline);
            sockets.Add(client);

            // Act: a file, a publish and a missing file, pipelined in one write.
            const string form = "topic=p&type=note&data=hello";
            await client.SendAsync(System.Text.Encoding.ASCII.GetBytes(
                "GET /app.js HTTP/1.1\r\nHost: localhost\r\n\r\n" +
                $"POST /publish HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {form.Length}\r\n\r\n{form}" +
                "GET /missing HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"));
            var (end, answers) = await client.ReadEndAsync(Deadline);
            var events = new List<string>();
            foreach (var stream in sockets.Take(2))
            {
                events.Add(await stream.ReadUntilAsync("data: hello\n\n", Deadline));
            }

            // Assert
            string text = System.Text.Encoding.UTF8.GetString(answers);
            var statuses = StatusLine().Matches(text).Select(m => m.Groups[1].Value).ToArray();
            Assert.That(end, Is.EqualTo(ReadEnd.Eof), "the pipelined exchange ends with a clean close");
            Assert.That(statuses, Is.EqualTo(new[] { "200", "200", "404" }), text);
            Assert.That(events, Has.All.Match("(^|\n)id: [0-9a-z]{8}-1\nevent: note\ndata: hello\n\n$"), "both streams get the published event, with the hub's first id");
            Assert.That(EventThreads(process.Id), Is.EqualTo(Environment.ProcessorCount),
                "one socket event thread per core: inline completions are on");
        }
        finally
        {
            sockets.ForEach(s => s.Dispose());
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }

    [Test]
    public async Task Run_StreamsOfThirtyTwoFreshTopics_ResidentMemoryPerStreamStaysSmall()
    {
        // Arrange: the attack measured at about 790 KB of RSS a stream when every topic made a 1,000-entry ring.
        const int Streams = 300;
        using var process = StartServer("--port", "0", "--interval", "0", "--heartbeat", "0", "--log-level", "Warning", "--root", RepoPaths.Public);
        int port = await ReadListeningPortAsync(process);
        var endPoint = new IPEndPoint(IPAddress.Loopback, port);
        var streams = new List<RawClient>();
        try
        {
            long before = ResidentBytes(process.Id);

            // Act
            for (int i = 0; i < Streams; i++)
            {
                var stream = await RawClient.ConnectAsync(endPoint, timeout: Deadline);
                streams.Add(stream);
                var topics = string.Join('&', Enumerable.Range(0, 32).Select(t => $"topic=s{i}-t{t}"));
                await stream.SendAsync($"GET /sse?{topics} HTTP/1.1\r\nHost: localhost\r\n\r\n");
                await stream.ReadUntilAsync("retry: 2000\n\n", Deadline);
            }

            long after = ResidentBytes(process.Id);

            // Assert
            long perStream = (after - before) / Streams;
            TestContext.Out.WriteLine($"RSS {before / 1e6:F1} MB -> {after / 1e6:F1} MB: {perStream:N0} bytes per stream of 32 fresh topics");
            Assert.That(perStream, Is.LessThan(64 * 1024), "resident memory per stream of 32 fresh topics");
        }
        finally
        {
            streams.ForEach(s => s.Dispose());
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }

    private static long ResidentBytes(int pid) =>
        File.ReadLines($"/proc/{pid}/status").Where(l => l.StartsWith("VmRSS:", StringComparison.Ordinal))
            .Select(l => long.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024)
            .Single();

    // The runtime names its epoll threads ".NET Sockets": one in all unless completions run inline, then one per core.
    private static int EventThreads(int pid) =>
        Directory.GetDirectories($"/proc/{pid}/task").Count(task => File.ReadAllText(Path.Combine(task, "comm")).Trim() == ".NET Sockets");

    [Test]
    public async Task Run_LowOpenFileLimit_RefusesPastItWith503AndKeepsServing()
    {
        // Arrange: a process allowed 400 open files (the runtime holds about 90 of them itself).
        using var process = StartServer(openFileLimit: 400, "--port", "0", "--interval", "0", "--log-level", "Warning", "--root", RepoPaths.Public);
        int port = await ReadListeningPortAsync(process);
        var sockets = new List<RawClient>();
        try
        {
            // Act: 300 streams at once, more than fit.
            for (int i = 0; i < 300; i++)
            {
                var socket = await RawClient.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), timeout: Deadline);
                sockets.Add(socket);
                await socket.SendAsync("GET /sse HTTP/1.1\r\nHost: localhost\r\n\r\n");
            }

            int streams = 0, refused = 0;
            foreach (var socket in sockets)
            {
                try
                {
                    string head = await socket.ReadUntilAsync("\r\n\r\n", TimeSpan.FromSeconds(5));
                    streams += head.StartsWith("HTTP/1.1 200 ", StringComparison.Ordinal) ? 1 : 0;
                    refused += head.StartsWith("HTTP/1.1 503 ", StringComparison.Ordinal) ? 1 : 0;
                }
                catch (Exception ex) when (ex is EndOfStreamException or SocketException or TimeoutException)
                {
                    // Past the refusals the server can afford, a connection is closed without an answer.
                }
            }

            // Assert: streams up to the lowered limit, 503s past it, and the process neither crashed nor stopped serving.
            Assert.That(streams, Is.InRange(1, 400 - 256), "streams accepted under a 400-file limit");
            Assert.That(refused, Is.GreaterThan(0), "connections past the limit get 503");
            Assert.That(process.HasExited, Is.False, "the server died when descriptors ran short");
            sockets.ForEach(s => s.Dispose());
            sockets.Clear();
            bool serving = await Polling.UntilAsync(async () => await GetStatusAsync(port) == 200, Deadline);
            Assert.That(serving, Is.True, "GET / after the flood");
        }
        finally
        {
            sockets.ForEach(s => s.Dispose());
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }

    [TestCase("--port", "70000")]
    [TestCase("--port", "x")]
    [TestCase("--bogus")]
    [TestCase("--bind", "not-an-address")]
    [TestCase("--root", "/nonexistent/rawsse")]
    [TestCase("--slow-consumer", "sometimes")]
    public async Task Run_BadOption_ClearMessageAndExitCode2(params string[] args)
    {
        using var process = StartServer(args);

        bool exited = await WaitForExitAsync(process, Deadline);
        string error = await process.StandardError.ReadToEndAsync();

        Assert.That(exited, Is.True, "did not exit on a bad option");
        Assert.That(process.ExitCode, Is.EqualTo(2), $"stderr: {error}");
        Assert.That(error, Does.StartWith("rawsse: "), "the message names the program and says what is wrong");
    }

    [Test]
    public async Task Run_Help_ListsOptionsAndExitsZero()
    {
        using var process = StartServer("--help");

        bool exited = await WaitForExitAsync(process, Deadline);
        string output = await process.StandardOutput.ReadToEndAsync();

        Assert.That(exited, Is.True);
        Assert.That(process.ExitCode, Is.Zero);
        Assert.That(output, Does.Contain("--port").And.Contain("--bind").And.Contain("--root").And.Contain("--interval").And.Contain("--publish-token"));
    }

    internal static Process StartServer(params string[] args) => StartServer(openFileLimit: 0, args);

    /// <summary>Starts the executable with <paramref name="environment"/> set (besides the test run's own variables).</summary>
    internal static Process StartServer(IReadOnlyDictionary<string, string> environment, params string[] args) =>
        StartServer(openFileLimit: 0, environment, args);

    private static Process StartServer(int openFileLimit, params string[] args) =>
        StartServer(openFileLimit, new Dictionary<string, string>(), args);

    private static Process StartServer(int openFileLimit, IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        // The project reference puts RawSse.dll beside the tests; run it as `dotnet run` would, but without a build.
        // prlimit (util-linux) sets the open-file limit of the process it starts.
        var info = new ProcessStartInfo(openFileLimit > 0 ? "prlimit" : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };

        // Every option reads a RAWSSE_ variable: none set where the tests run may change what a test starts.
        foreach (var inherited in info.Environment.Keys.Where(k => k.StartsWith("RAWSSE_", StringComparison.Ordinal)).ToList())
        {
            info.Environment.Remove(inherited);
        }

        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }

        if (openFileLimit > 0)
        {
            info.ArgumentList.Add($"--nofile={openFileLimit}:{openFileLimit}");
            info.ArgumentList.Add("dotnet");
        }

        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "RawSse.dll"));
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        return Process.Start(info) ?? throw new InvalidOperationException("could not start RawSse");
    }

    /// <param name="afterwards">Takes every line the server prints after the listening line (else they are drained unread).</param>
    internal static async Task<int> ReadListeningPortAsync(Process process, Action<string>? afterwards = null)
    {
        // Log lines written during start-up may come first; the listening line is the one to find.
        using var cts = new CancellationTokenSource(Deadline);
        var seen = new List<string>();
        while (await process.StandardOutput.ReadLineAsync(cts.Token) is { } line)
        {
            var match = ListeningLine().Match(line);
            if (match.Success)
            {
                // Keep draining what the server prints, so a full pipe never blocks it.
                _ = afterwards is null ? process.StandardOutput.ReadToEndAsync(CancellationToken.None) : ForwardAsync(process.StandardOutput, afterwards);
                return int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            }

            seen.Add(line);
        }

        Assert.Fail($"no listening line; output: {string.Join(" | ", seen)}");
        return 0;
    }

    private static async Task ForwardAsync(StreamReader reader, Action<string> take)
    {
        while (await reader.ReadLineAsync() is { } line)
        {
            take(line);
        }
    }

    /// <summary>The status GET / gets from the process, or 0 when it does not answer within 2 s.</summary>
    private static async Task<int> GetStatusAsync(int port)
    {
        var timeout = TimeSpan.FromSeconds(2);
        try
        {
            using var client = await RawClient.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), timeout: timeout);
            await client.SendAsync("GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
            return (await client.ReadResponseAsync(timeout: timeout)).Status;
        }
        catch (Exception ex) when (ex is SocketException or IOException or TimeoutException or OperationCanceledException)
        {
            return 0;
        }
    }

    internal static async Task<bool> WaitForExitAsync(Process process, TimeSpan timeout)
    {
        try
        {
            await process.WaitForExitAsync().WaitAsync(timeout);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    [GeneratedRegex(@"^RawSse listening on http://[^:]+:(\d+)/")]
    private static partial Regex ListeningLine();

    [GeneratedRegex(@"HTTP/1\.1 (\d{3}) ")]
    private static partial Regex StatusLine();
}
