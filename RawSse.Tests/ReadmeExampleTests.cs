using System.Text.RegularExpressions;

namespace RawSse.Tests;

/// <summary>
/// Every example of README.md, taken from the README itself and run as written: the curl lines through bash against
/// a server on a free port (only the port is changed), the C# block compiled and run in a project of its own. An
/// example that drifts from what the server does fails here; the last tests show the checks do catch a broken one.
/// </summary>
[TestFixture]
public sealed partial class ReadmeExampleTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan BuildTimeout = TimeSpan.FromMinutes(3);

    private static string Readme => File.ReadAllText(Path.Combine(RepoPaths.Root, "README.md"));

    [Test]
    public void CurlExamples_Readme_FindsTheStreamsAndThePublish()
    {
        var examples = ReadmeExamples.CurlExamples(Readme);

        // The first taste, the publish and its stream; a rule that matched nothing would pass every test below.
        Assert.That(examples.Select(e => e.Command), Has.Some.StartsWith("curl -N http://localhost:8080/sse")
            .And.Some.StartsWith("curl -d topic=chat").And.Some.StartsWith("curl -N 'http://localhost:8080/sse?topic=chat'"),
            string.Join("\n", examples));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task CurlExamples_RunThroughBashAgainstTheServer_EachDoesWhatTheReadmeSays()
    {
        // Arrange: the ticker on, as the executable runs it, so `curl -N /sse` sees a tick.
        var examples = ReadmeExamples.CurlExamples(Readme);
        await using var server = TestServer.StartWithoutHeartbeats(o => o.TickInterval = TimeSpan.FromMilliseconds(100));

        // Act
        var failures = await CurlExampleRunner.RunAsync(examples, server.Port, Timeout);

        // Assert
        Assert.That(failures, Is.Empty, string.Join("\n", failures));
    }

    [Test]
    [CancelAfter(240_000)]
    public async Task CSharpExample_CompiledInItsOwnProjectAndRun_PublishesAndStops()
    {
        // Arrange: port 0, since 8080 may be taken on the machine that runs the tests.
        var block = ReadmeExamples.CSharpBlocks(Readme).Single();
        Assert.That(block.Text, Does.Contain("Port = 8080"), "the block the test rewrites to port 0");
        string program = block.Text.Replace("Port = 8080", "Port = 0", StringComparison.Ordinal);

        // Act
        var (ok, output) = await CSharpSnippetRunner.RunAsync(program, BuildTimeout, Timeout);

        // Assert
        Assert.That(ok, Is.True, $"README line {block.FirstLine}: {output}");
        Assert.That(PublishedLine().IsMatch(output), Is.True, $"the program prints the id Publish returned: {output}");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task CurlExamples_PublishToAWrongPath_ReportsTheLineAndTheStatus()
    {
        // Arrange: a README whose publish has a typo in its path.
        const string Broken = """
            ```sh
            curl -d topic=chat -d 'data=hello' http://localhost:8080/publsh
            curl -N 'http://localhost:8080/sse?topic=chat'
            ```
            """;
        var examples = ReadmeExamples.CurlExamples(Broken);
        await using var server = TestServer.StartWithoutHeartbeats();

        // Act
        var failures = await CurlExampleRunner.RunAsync(examples, server.Port, TimeSpan.FromSeconds(2));

        // Assert: the publish is reported with its line and the 405 (POST to a file path), and so is the stream that got nothing.
        Assert.That(failures, Has.Some.StartsWith("README line 2: curl -d topic=chat").And.Some.Contains("status 405"), string.Join("\n", failures));
        Assert.That(failures, Has.Some.StartsWith("README line 3: ").And.Some.Contains("no event arrived"), string.Join("\n", failures));
    }

    [Test]
    [CancelAfter(240_000)]
    public async Task CSharpExample_MissingUsing_ReportsTheCompileError()
    {
        // Arrange: the README's block as it was, without `using RawSse.Sse;` for SseEvent.
        string program = ReadmeExamples.CSharpBlocks(Readme).Single().Text
            .Replace("using RawSse.Sse;\n", "", StringComparison.Ordinal).Replace("Port = 8080", "Port = 0", StringComparison.Ordinal);

        // Act
        var (ok, output) = await CSharpSnippetRunner.RunAsync(program, BuildTimeout, Timeout);

        // Assert
        Assert.That(ok, Is.False, output);
        Assert.That(output, Does.Contain("the build failed").And.Contain("CS0246").And.Contain("SseEvent"));
    }

    [GeneratedRegex(@"\bpublished [0-9a-z]+-[0-9]+\n")]
    private static partial Regex PublishedLine();
}
