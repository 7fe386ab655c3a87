using System.Diagnostics;
using System.Text.RegularExpressions;

namespace RawSse.Tests;

/// <summary>
/// <c>deploy/rawsse.service</c> and <c>deploy/rawsse.env.example</c>: systemd accepts the unit, the hardening it
/// promises is in it, and the example sets only variables the server reads.
/// </summary>
[TestFixture]
public sealed partial class ServiceUnitTests
{
    private const string Service = "Service";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private static string UnitPath => Path.Combine(RepoPaths.Root, "deploy", "rawsse.service");
    private static string EnvExamplePath => Path.Combine(RepoPaths.Root, "deploy", "rawsse.env.example");

    [Test]
    public async Task SystemdAnalyzeVerify_Unit_NoComplaint()
    {
        // Arrange: verify checks that ExecStart's program exists and is executable, and the test machine has no
        // /opt/rawsse. A copy of the unit names an executable stand-in instead; only that path is rewritten, and
        // nothing else verify says is excused.
        string? tool = FindOnPath("systemd-analyze");
        if (tool is null || !OperatingSystem.IsLinux())
        {
            Assert.Ignore("systemd-analyze is not installed (Debian package systemd)");
            return;
        }

        string folder = Directory.CreateTempSubdirectory("rawsse-unit-").FullName;
        try
        {
            string standIn = Path.Combine(folder, "rawsse");
            await File.WriteAllTextAsync(standIn, "#!/bin/sh\n");
            File.SetUnixFileMode(standIn, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            string original = await File.ReadAllTextAsync(UnitPath);
            string copy = original.Replace("ExecStart=/opt/rawsse/rawsse", $"ExecStart={standIn}", StringComparison.Ordinal);
            Assert.That(copy, Is.Not.EqualTo(original), "the unit's ExecStart is /opt/rawsse/rawsse");
            string unit = Path.Combine(folder, "rawsse.service");
            await File.WriteAllTextAsync(unit, copy);

            // Act
            var (exitCode, output) = await RunAsync(tool, "verify", unit);

            // Assert
            Assert.That(exitCode, Is.Zero, output);
            Assert.That(output, Is.Empty, "verify prints nothing for a unit it has no complaint about");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Test]
    public void Parse_Unit_HardeningAndServiceDirectivesPresent()
    {
        // Arrange
        var unit = SystemdUnit.Parse(File.ReadAllText(UnitPath));
        var expected = new Dictionary<string, string>
        {
            ["ExecStart"] = "/opt/rawsse/rawsse",
            ["EnvironmentFile"] = "-/etc/rawsse/rawsse.env",
            ["DynamicUser"] = "yes",
            ["StateDirectory"] = "rawsse",
            ["Restart"] = "on-failure",
            ["KillSignal"] = "SIGTERM",
            ["NoNewPrivileges"] = "yes",
            ["ProtectSystem"] = "strict",
            ["ProtectHome"] = "yes",
            ["PrivateTmp"] = "yes",
            ["PrivateDevices"] = "yes",
            ["ProtectKernelTunables"] = "yes",
            ["ProtectKernelModules"] = "yes",
            ["ProtectControlGroups"] = "yes",
            ["RestrictNamespaces"] = "yes",
            ["RestrictSUIDSGID"] = "yes",
            ["LockPersonality"] = "yes",
            ["SystemCallArchitectures"] = "native",
            ["RestrictAddressFamilies"] = "AF_INET AF_INET6 AF_UNIX",
            ["CapabilityBoundingSet"] = "",
        };

        // Act
        var actual = expected.Keys.ToDictionary(key => key, key => unit.Value(Service, key));

        // Assert
        Assert.That(unit.Unparsed, Is.Empty, "every line of the unit parses");
        Assert.That(actual, Is.EquivalentTo(expected));
        Assert.That(long.Parse(unit.Value(Service, "LimitNOFILE") ?? "0", System.Globalization.CultureInfo.InvariantCulture), Is.GreaterThanOrEqualTo(20_000));
        Assert.That(unit.Value(Service, "MemoryDenyWriteExecute"), Is.Null, "the JIT writes code and runs it: the server would not start");
        Assert.That(unit.Value("Install", "WantedBy"), Is.EqualTo("multi-user.target"));
    }

    [Test]
    public void EnvExample_EveryVariable_IsAnOptionInReadme()
    {
        // Arrange: the Options table lists every option's variable; a misspelt one in the example would be ignored.
        string readme = File.ReadAllText(Path.Combine(RepoPaths.Root, "README.md"));
        var documented = OptionVariable().Matches(readme).Select(m => m.Groups[1].Value).ToHashSet();

        // Act: set or commented out, every variable the example names.
        var named = Variable().Matches(File.ReadAllText(EnvExamplePath)).Select(m => m.Groups[1].Value).Distinct().ToList();

        // Assert
        Assert.That(named, Is.Not.Empty);
        Assert.That(named.Where(v => !documented.Contains(v)), Is.Empty, "variables in rawsse.env.example not in the README's Options table");
    }

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name)).FirstOrDefault(File.Exists);

    private static async Task<(int ExitCode, string Output)> RunAsync(string program, params string[] args)
    {
        var info = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(Deadline);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            Assert.Fail($"{program} {string.Join(' ', args)} still running after {Deadline.TotalSeconds} s");
        }

        return (process.ExitCode, (await stdout + await stderr).Trim());
    }

    // A row of the Options table: | `--name` | `RAWSSE_NAME` | ...
    [GeneratedRegex(@"^\| `--[a-z-]+` \| `(RAWSSE_[A-Z_]+)` \|", RegexOptions.Multiline)]
    private static partial Regex OptionVariable();

    // A line of the example: NAME=value, or #NAME=value for one left at its default.
    [GeneratedRegex(@"^#?(RAWSSE_[A-Z_]+)=", RegexOptions.Multiline)]
    private static partial Regex Variable();
}
