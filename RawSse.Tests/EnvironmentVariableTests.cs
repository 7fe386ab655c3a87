using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;

namespace RawSse.Tests;

/// <summary>The executable's options from RAWSSE_ variables: taken when the command line is silent, beaten when it is not, named when bad.</summary>
[TestFixture]
public sealed partial class EnvironmentVariableTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(15);
    private const string Form = "topic=t&data=x";

    [Test]
    public async Task Run_PortAndPublishTokenFromEnvironment_PublishNeedsTheToken()
    {
        // Arrange
        using var process = ProcessTests.StartServer(
            new Dictionary<string, string> { ["RAWSSE_PORT"] = "0", ["RAWSSE_INTERVAL"] = "0", ["RAWSSE_PUBLISH_TOKEN"] = "env-s3cret" },
            "--root", RepoPaths.Public);
        try
        {
            int port = await ProcessTests.ReadListeningPortAsync(process);

            // Act
            var without = await PublishAsync(port, authorization: null);
            var with = await PublishAsync(port, "Bearer env-s3cret");

            // Assert
            Assert.That(without.Status, Is.EqualTo(401), Describe.Response(without));
            Assert.That(with.Status, Is.EqualTo(200), Describe.Response(with));
        }
        finally
        {
            Stop(process);
        }
    }

    [Test]
    public async Task Run_OptionOnCommandLineAndInEnvironment_CommandLineWins()
    {
        // Arrange: the environment asks for a port that cannot be bound and a token; the command line overrides both.
        using var process = ProcessTests.StartServer(
            new Dictionary<string, string> { ["RAWSSE_PORT"] = "1", ["RAWSSE_PUBLISH_TOKEN"] = "env-token" },
            "--port", "0", "--interval", "0", "--publish-token", "cli-token", "--root", RepoPaths.Public);
        try
        {
            int port = await ProcessTests.ReadListeningPortAsync(process);

            // Act
            var envToken = await PublishAsync(port, "Bearer env-token");
            var cliToken = await PublishAsync(port, "Bearer cli-token");

            // Assert
            Assert.That(port, Is.Not.EqualTo(1));
            Assert.That(envToken.Status, Is.EqualTo(401), Describe.Response(envToken));
            Assert.That(cliToken.Status, Is.EqualTo(200), Describe.Response(cliToken));
        }
        finally
        {
            Stop(process);
        }
    }

    [TestCase("RAWSSE_MAX_CONNECTIONS", "abc")]
    [TestCase("RAWSSE_RETRY", "x")]
    [TestCase("RAWSSE_ANONYMOUS", "maybe")]
    [TestCase("RAWSSE_SLOW_CONSUMER", "sometimes")]
    [TestCase("RAWSSE_BIND", "not-an-address")]
    public async Task Run_BadVariable_ExitCode2AndTheVariableNamed(string name, string value)
    {
        // Arrange
        using var process = ProcessTests.StartServer(new Dictionary<string, string> { [name] = value }, "--port", "0");

        // Act
        var (exitCode, error) = await ExitAsync(process);

        // Assert
        Assert.That(exitCode, Is.EqualTo(2), $"stderr: {error}");
        Assert.That(error, Does.StartWith($"rawsse: {name}: ").And.Contain(value));
    }

    [Test]
    public async Task Run_VariableFailsValidation_ExitCode2AndTheVariablesListed()
    {
        // Arrange: a value of the right type that ServerOptions.Validate refuses.
        using var process = ProcessTests.StartServer(new Dictionary<string, string> { ["RAWSSE_MAX_CONNECTIONS"] = "0" }, "--port", "0");

        // Act
        var (exitCode, error) = await ExitAsync(process);

        // Assert
        Assert.That(exitCode, Is.EqualTo(2), $"stderr: {error}");
        Assert.That(error, Does.StartWith("rawsse: max connections must be").And.Contain("(set from the environment: RAWSSE_MAX_CONNECTIONS)"));
    }

    [Test]
    public async Task Run_Help_EveryOptionNamesItsVariable()
    {
        // Arrange: a bad variable must not get in the way of --help.
        using var process = ProcessTests.StartServer(new Dictionary<string, string> { ["RAWSSE_PORT"] = "x" }, "--help");

        // Act
        bool exited = await ProcessTests.WaitForExitAsync(process, Deadline);
        string output = await process.StandardOutput.ReadToEndAsync();

        // Assert: one "--name ... (env RAWSSE_NAME)" per option line, help and version aside; no old "(or RAWSSE_" phrases.
        Assert.That(exited, Is.True);
        Assert.That(process.ExitCode, Is.Zero, output);
        var options = OptionLine().Matches(output).Select(m => m.Groups[1].Value).Where(o => o is not "help" and not "version").ToList();
        Assert.That(options, Has.Count.GreaterThan(30), output);
        foreach (var option in options)
        {
            string variable = "RAWSSE_" + option.ToUpperInvariant().Replace('-', '_');
            Assert.That(output, Does.Match($@"(?m)^  (-\S+, )*--{Regex.Escape(option)}\b.*\(env {variable}\)"), $"--{option} does not name {variable}");
        }

        Assert.That(output, Does.Not.Contain("(or RAWSSE_"));
    }

    // One connection a request: a refused publish closes its connection.
    private static async Task<HttpResponse> PublishAsync(int port, string? authorization)
    {
        using var client = await RawClient.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), timeout: Deadline);
        return await Publishing.SendAsync(client, Form, Deadline, authorization, host: "localhost");
    }

    // The exit code and stderr of a process expected to stop by itself; one still running after the deadline is killed.
    private static async Task<(int ExitCode, string Error)> ExitAsync(Process process)
    {
        bool exited = await ProcessTests.WaitForExitAsync(process, Deadline);
        Stop(process);
        string error = await process.StandardError.ReadToEndAsync();
        Assert.That(exited, Is.True, $"still running {Deadline.TotalSeconds} s after start; stderr: {error}");
        return (process.ExitCode, error);
    }

    private static void Stop(Process process)
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
        }
    }

    [GeneratedRegex(@"(?m)^  (?:-\S+, )*--([a-z][a-z-]*)")]
    private static partial Regex OptionLine();
}
