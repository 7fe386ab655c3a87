using System.Diagnostics;
using System.Net;
using System.Reflection;

namespace RawSse.Tests;

/// <summary>
/// The release artifact as a user gets it: deploy/publish.sh into a temp folder once, then that very file run from a
/// folder of its own (so it serves the demo page beside it, not ./public): its version, the page, a stream with a
/// published event, and SIGTERM.
/// </summary>
[TestFixture]
public sealed class ReleaseArtifactTests
{
    private static readonly TimeSpan PublishTimeout = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(15);

    private DirectoryInfo _dist = null!;
    private DirectoryInfo _workingDirectory = null!;

    private string Executable => Path.Combine(_dist.FullName, "rawsse");

    [OneTimeSetUp]
    public async Task PublishOnce()
    {
        _dist = Directory.CreateTempSubdirectory("rawsse-dist-");
        _workingDirectory = Directory.CreateTempSubdirectory("rawsse-cwd-");
        var clock = Stopwatch.StartNew();
        using var publish = ChildProcess.Start(Path.Combine(RepoPaths.Root, "deploy", "publish.sh"), [_dist.FullName]);
        bool exited = await publish.WaitForExitAsync(PublishTimeout);
        TestContext.Progress.WriteLine($"deploy/publish.sh: {clock.Elapsed.TotalSeconds:F0} s\n{publish.Output}{publish.Error}");
        Assert.That(exited, Is.True, $"deploy/publish.sh took more than {PublishTimeout.TotalMinutes} min");
        Assert.That(publish.ExitCode, Is.Zero, publish.Output + publish.Error);
    }

    [OneTimeTearDown]
    public void RemoveArtifact()
    {
        _dist.Delete(recursive: true);
        _workingDirectory.Delete(recursive: true);
    }

    [Test]
    public void Publish_Output_IsTheExecutableAndTheDemoPage()
    {
        var entries = _dist.GetFileSystemInfos().Select(e => e.Name).Order();

        Assert.That(entries, Is.EqualTo(new[] { "public", "rawsse" }), "one file and the demo page, nothing else to copy");
        Assert.That(File.ReadAllBytes(Path.Combine(_dist.FullName, "public", "index.html")), Is.EqualTo(File.ReadAllBytes(Path.Combine(RepoPaths.Public, "index.html"))));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Version_Artifact_PrintsTheInformationalVersionAndExitsZero()
    {
        // Arrange: the RawSse the tests reference is built from the same sources, so it carries the same version.
        string expected = typeof(Server).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion;

        // Act
        using var process = ChildProcess.Start(Executable, ["--version"], workingDirectory: _workingDirectory.FullName);
        bool exited = await process.WaitForExitAsync(Deadline);

        // Assert
        Assert.That(exited, Is.True, "--version did not exit");
        Assert.That(process.ExitCode, Is.Zero, process.Error);
        Assert.That(process.Output.Trim(), Is.EqualTo(expected));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Run_Artifact_ServesThePageAndAStreamAndExitsZeroOnSigterm()
    {
        // Arrange: no --root, and a working directory without ./public, so the page must come from beside the file.
        var start = new ProcessStartInfo(Executable, ["--port", "0", "--interval", "0"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = _workingDirectory.FullName,
        };
        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start the artifact");
        var error = process.StandardError.ReadToEndAsync();
        try
        {
            int port = await ProcessTests.ReadListeningPortAsync(process);
            var endPoint = new IPEndPoint(IPAddress.Loopback, port);

            // Act
            HttpResponse page;
            using (var client = await RawClient.ConnectAsync(endPoint, timeout: Deadline))
            {
                await client.SendAsync("GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
                page = await client.ReadResponseAsync(timeout: Deadline);
            }

            using var stream = await RawClient.ConnectAsync(endPoint, timeout: Deadline);
            await stream.SendAsync("GET /sse?topic=release HTTP/1.1\r\nHost: localhost\r\n\r\n");
            await stream.ReadUntilAsync("retry: 2000\n\n", Deadline);
            using (var publisher = await RawClient.ConnectAsync(endPoint, timeout: Deadline))
            {
                const string Form = "topic=release&data=shipped";
                await publisher.SendAsync("POST /publish HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\n" +
                    $"Content-Length: {Form.Length}\r\nConnection: close\r\n\r\n{Form}");
                Assert.That((await publisher.ReadResponseAsync(timeout: Deadline)).Status, Is.EqualTo(200), "POST /publish");
            }

            string frame = await stream.ReadUntilAsync("data: shipped\n\n", Deadline);
            var clock = Stopwatch.StartNew();
            Assert.That(Signals.Terminate(process.Id), Is.True, "kill(SIGTERM) failed");
            bool exited = await ProcessTests.WaitForExitAsync(process, TimeSpan.FromSeconds(5));

            // Assert
            Assert.That(page.Status, Is.EqualTo(200), page.RawHead);
            Assert.That(page.Headers["Content-Type"], Does.StartWith("text/html"));
            Assert.That(page.Body, Is.EqualTo(File.ReadAllBytes(Path.Combine(RepoPaths.Public, "index.html"))), "the demo page beside the executable");
            Assert.That(frame, Does.Match("id: [0-9a-z]+-1\ndata: shipped\n\n$"), Describe.Escape(frame));
            Assert.That(exited, Is.True, $"still running {clock.Elapsed.TotalSeconds:F1} s after SIGTERM");
            Assert.That(process.ExitCode, Is.Zero, await error);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }
}
