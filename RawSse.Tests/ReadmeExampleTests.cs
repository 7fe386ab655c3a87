using System.Diagnostics;
using System.Text.RegularExpressions;

namespace RawSse.Tests;

/// <summary>
/// The README's publish example, taken from README.md and run as written through curl (only the port is the test
/// server's), so the example a new user copies first cannot drift from what the server accepts.
/// </summary>
[TestFixture]
public sealed partial class ReadmeExampleTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    [Test]
    public async Task ReadmePublishExample_RunThroughCurl_Answers200WithTheIdAndTheStreamGetsTheEvent()
    {
        // Arrange
        string readme = File.ReadAllText(Path.Combine(RepoPaths.Root, "README.md"));
        var example = PublishExample().Match(readme);
        Assert.That(example.Success, Is.True, "the README shows a 'curl -d topic=chat ... /publish' line");
        await using var server = TestServer.StartWithoutHeartbeats();
        using var stream = await SseStream.OpenStreamAsync(server, "/sse?topic=chat", Timeout, waitForSubscriber: true);
        string command = example.Value.Replace("localhost:8080", $"localhost:{server.Port}", StringComparison.Ordinal);

        // Act
        var (exitCode, output, error) = await RunAsync("bash", "-c", command + " -sS -w '\\n%{http_code}'");
        string frame = await stream.ReadUntilAsync("\n\n", Timeout);

        // Assert
        string[] lines = output.Split('\n');
        Assert.Multiple(() =>
        {
            Assert.That(exitCode, Is.Zero, $"{command}: {error}");
            Assert.That(lines[^1], Is.EqualTo("200"), $"{command} answered: {output}");
            Assert.That(lines[0], Is.EqualTo($"{server.Hub.Epoch}-1"), "the body is the event's id");
            Assert.That(frame, Is.EqualTo($"id: {server.Hub.Epoch}-1\nevent: message\ndata: hello, world\n\n"), Describe.Escape(frame));
        });
    }

    private static async Task<(int ExitCode, string Output, string Error)> RunAsync(string file, params string[] arguments)
    {
        var start = new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {file}");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(Timeout);
        return (process.ExitCode, await output, await error);
    }

    [GeneratedRegex(@"^curl -d topic=chat [^\n]*?/publish", RegexOptions.Multiline)]
    private static partial Regex PublishExample();
}
