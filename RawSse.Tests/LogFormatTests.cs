using System.Diagnostics;
using System.Text.Json;

namespace RawSse.Tests;

/// <summary>
/// <c>--log-format json</c> (or RAWSSE_LOG_FORMAT=json): the executable's log lines are the console logger's JSON
/// objects, one a line, while the "RawSse listening on" line stays as it is for whoever waits for it.
/// </summary>
[TestFixture]
public sealed class LogFormatTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(15);

    [TestCase(true, TestName = "Run_LogFormatJsonOption_LogLineIsJsonWithLoggerFields")]
    [TestCase(false, TestName = "Run_LogFormatJsonVariable_LogLineIsJsonWithLoggerFields")]
    public async Task Run_LogFormatJson_LogLineIsJsonWithLoggerFields(bool option)
    {
        // Arrange: a sqlite store logs one Information line ("event log PATH: epoch ..., head ...") before listening.
        string folder = Directory.CreateTempSubdirectory("rawsse-logformat-").FullName;
        try
        {
            var environment = option ? new Dictionary<string, string>() : new Dictionary<string, string> { ["RAWSSE_LOG_FORMAT"] = "json" };
            string[] args = ["--port", "0", "--interval", "0", "--root", RepoPaths.Public, "--store", $"sqlite:{Path.Combine(folder, "events.db")}",
                .. option ? (string[])["--log-format", "json"] : []];
            using var process = ProcessTests.StartServer(environment, args);
            try
            {
                // Act
                var before = await ReadUntilListeningAsync(process);
                TestContext.Out.WriteLine(string.Join("\n", before));

                // Assert
                var logLine = before.FirstOrDefault(l => l.Contains("event log", StringComparison.Ordinal));
                Assert.That(logLine, Is.Not.Null, $"no log line of the store; output: {string.Join(" | ", before)}");
                using var json = JsonDocument.Parse(logLine!);
                var root = json.RootElement;
                Assert.Multiple(() =>
                {
                    Assert.That(root.GetProperty("LogLevel").GetString(), Is.EqualTo("Information"), logLine);
                    Assert.That(root.GetProperty("Category").GetString(), Does.StartWith("RawSse"), logLine);
                    Assert.That(root.GetProperty("Message").GetString(), Does.StartWith("event log ").And.Contain("epoch"), logLine);
                    Assert.That(root.GetProperty("EventId").ValueKind, Is.EqualTo(JsonValueKind.Number), logLine);
                    Assert.That(DateTimeOffset.TryParse(root.GetProperty("Timestamp").GetString(), out var at), Is.True, logLine);
                    Assert.That(at, Is.EqualTo(DateTimeOffset.UtcNow).Within(TimeSpan.FromMinutes(5)), "the timestamp is UTC, with the date");
                });
            }
            finally
            {
                process.Kill();
                await process.WaitForExitAsync();
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Test]
    public async Task Run_LogFormatUnknown_ExitsTwoNamingIt()
    {
        // Arrange, Act
        using var process = ProcessTests.StartServer("--log-format", "xml");
        bool exited = await ProcessTests.WaitForExitAsync(process, Deadline);
        string error = await process.StandardError.ReadToEndAsync();

        // Assert
        Assert.That(exited, Is.True, "did not exit on a bad --log-format");
        Assert.That(process.ExitCode, Is.EqualTo(2), $"stderr: {error}");
        Assert.That(error, Does.Contain("xml"), "the message names the bad value");
    }

    // Reads the output until both the listening line and the store's log line have come (the console logger writes
    // from its own thread, so the log line may come after the listening line); returns the lines other than the
    // listening line. The rest of the output is drained.
    private static async Task<List<string>> ReadUntilListeningAsync(Process process)
    {
        using var cts = new CancellationTokenSource(Deadline);
        var seen = new List<string>();
        bool listening = false;
        while (await process.StandardOutput.ReadLineAsync(cts.Token) is { } line)
        {
            if (line.StartsWith("RawSse listening on http://", StringComparison.Ordinal))
            {
                listening = true;
            }
            else
            {
                seen.Add(line);
            }

            if (listening && seen.Any(l => l.Contains("event log", StringComparison.Ordinal)))
            {
                _ = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
                return seen;
            }
        }

        Assert.Fail($"listening line {(listening ? "seen" : "missing")}; output: {string.Join(" | ", seen)} stderr: {await process.StandardError.ReadToEndAsync()}");
        return seen;
    }
}
