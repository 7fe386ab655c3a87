using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace LoadGen;

/// <summary>
/// Runs a wrk command (with <c>--latency</c>) to its end, reads the server's CPU time around it, and turns
/// wrk's text into a <see cref="WrkReport"/>: requests/s, latency percentiles, errors, requests per server
/// CPU-second.
/// </summary>
internal static partial class WrkRunner
{
    /// <summary>Fills in <paramref name="report"/> and returns wrk's text output.</summary>
    public static async Task<string> RunAsync(IReadOnlyList<string> command, int serverPid, WrkReport report, CancellationToken cancellationToken)
    {
        if (command.Count == 0)
        {
            throw new ArgumentException("the wrk command is missing after --");
        }

        var start = new ProcessStartInfo(command[0]) { UseShellExecute = false, RedirectStandardOutput = true };
        foreach (var arg in command.Skip(1))
        {
            start.ArgumentList.Add(arg);
        }

        var before = ProcStats.TryRead(serverPid);
        var self = ProcStats.Self();
        var machineBefore = MachineCpu.Read();
        long t0 = Stopwatch.GetTimestamp();
        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start wrk");
        string output = await process.StandardOutput.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
        await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        double wall = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        var after = ProcStats.TryRead(serverPid);
        var machineAfter = MachineCpu.Read();
        var selfAfter = ProcStats.Self();
        // wrk is a child that has been waited for: its CPU time is in this process's children's.
        double load = selfAfter.CpuSeconds + selfAfter.ChildrenCpuSeconds - self.CpuSeconds - self.ChildrenCpuSeconds;

        report.Command = string.Join(' ', command);
        report.WrkExitCode = process.ExitCode;
        report.WallSeconds = Math.Round(wall, 2);
        report.RequestsPerSecond = Number(RequestsPerSecond().Match(output));
        report.Requests = (long)Number(Requests().Match(output));
        foreach (Match m in Percentile().Matches(output))
        {
            double ms = Duration(m.Groups[2].Value, m.Groups[3].Value);
            switch (m.Groups[1].Value)
            {
                case "50": report.LatencyP50Ms = ms; break;
                case "90": report.LatencyP90Ms = ms; break;
                case "99": report.LatencyP99Ms = ms; break;
            }
        }

        var non2xx = Non2xx().Match(output);
        report.Non2xx = non2xx.Success ? long.Parse(non2xx.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
        var socketErrors = SocketErrors().Match(output);
        report.SocketErrors = socketErrors.Success
            ? Enumerable.Range(1, 4).Sum(i => long.Parse(socketErrors.Groups[i].Value, CultureInfo.InvariantCulture))
            : 0;

        if (before is { } b && after is { } a)
        {
            report.ServerCpuSeconds = Math.Round(a.CpuSeconds - b.CpuSeconds, 2);
            report.ServerCpuPercent = Math.Round(100 * report.ServerCpuSeconds / wall, 1);
            report.RequestsPerServerCpuSecond = report.ServerCpuSeconds > 0 ? Math.Round(report.Requests / report.ServerCpuSeconds) : 0;
            report.ServerRssMb = Math.Round(a.RssKb / 1024.0, 1);
        }

        report.LoadCpuPercent = Math.Round(100 * load / wall, 1);
        report.OtherCpuPercent = Math.Round(Math.Max(0, 100 * (machineAfter.BusySeconds - machineBefore.BusySeconds - report.ServerCpuSeconds - load) / wall), 1);
        return output;
    }

    /// <summary>
    /// The same command with its duration (<c>-dN</c>, <c>-d N</c> or <c>--duration N</c>) set to <paramref name="seconds"/>:
    /// a warm-up run of exactly what is measured after it.
    /// </summary>
    public static IReadOnlyList<string> WithDuration(IReadOnlyList<string> command, double seconds)
    {
        string value = seconds.ToString(CultureInfo.InvariantCulture) + "s";
        var copy = command.ToList();
        for (int i = 0; i < copy.Count; i++)
        {
            if ((copy[i] is "-d" or "--duration") && i + 1 < copy.Count)
            {
                copy[i + 1] = value;
                return copy;
            }

            if (copy[i].StartsWith("-d", StringComparison.Ordinal) && copy[i].Length > 2 && char.IsAsciiDigit(copy[i][2]))
            {
                copy[i] = "-d" + value;
                return copy;
            }
        }

        throw new ArgumentException("the wrk command has no -d/--duration to shorten for the warm-up");
    }

    private static double Number(Match m) => m.Success ? double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : 0;

    private static double Duration(string value, string unit)
    {
        double v = double.Parse(value, CultureInfo.InvariantCulture);
        return Math.Round(unit switch { "us" => v / 1000, "ms" => v, "s" => v * 1000, "m" => v * 60_000, _ => v }, 3);
    }

    [GeneratedRegex(@"Requests/sec:\s+([0-9.]+)")]
    private static partial Regex RequestsPerSecond();

    [GeneratedRegex(@"^\s*([0-9]+) requests in", RegexOptions.Multiline)]
    private static partial Regex Requests();

    [GeneratedRegex(@"^\s+(50|75|90|99)%\s+([0-9.]+)(us|ms|s|m)\s*$", RegexOptions.Multiline)]
    private static partial Regex Percentile();

    [GeneratedRegex(@"Non-2xx or 3xx responses:\s+([0-9]+)")]
    private static partial Regex Non2xx();

    [GeneratedRegex(@"Socket errors: connect ([0-9]+), read ([0-9]+), write ([0-9]+), timeout ([0-9]+)")]
    private static partial Regex SocketErrors();
}
