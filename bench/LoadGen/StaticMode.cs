using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace LoadGen;

/// <summary>
/// <c>static</c>: runs a wrk command (everything after <c>--</c>, with <c>--latency</c>), reads the server's
/// CPU time around it, and turns wrk's text into one JSON line: requests/s, latency percentiles, errors,
/// and requests per server CPU-second.
/// </summary>
internal static partial class StaticMode
{
    public static async Task<int> RunAsync(Args args)
    {
        string label = args.Get("--label", "server");
        string file = args.Get("--file", "");
        int serverPid = args.GetInt("--server-pid", 0);
        args.RejectUnknown();
        if (args.Rest.Count == 0)
        {
            throw new ArgumentException("static needs the wrk command after --");
        }

        var start = new ProcessStartInfo(args.Rest[0]) { UseShellExecute = false, RedirectStandardOutput = true };
        foreach (var arg in args.Rest.Skip(1))
        {
            start.ArgumentList.Add(arg);
        }

        var before = ProcStats.TryRead(serverPid);
        var self = ProcStats.Self();
        var machineBefore = MachineCpu.Read();
        long t0 = Stopwatch.GetTimestamp();
        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start wrk");
        string output = await process.StandardOutput.ReadToEndAsync().ConfigureAwait(false);
        await process.WaitForExitAsync().ConfigureAwait(false);
        double wall = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        var after = ProcStats.TryRead(serverPid);
        var machineAfter = MachineCpu.Read();
        var selfAfter = ProcStats.Self();
        double load = selfAfter.CpuSeconds + selfAfter.ChildrenCpuSeconds - self.CpuSeconds - self.ChildrenCpuSeconds;

        var report = new StaticReport { Label = label, File = file, Command = string.Join(' ', args.Rest) };
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
        if (socketErrors.Success)
        {
            report.SocketErrors = Enumerable.Range(1, 4).Sum(i => long.Parse(socketErrors.Groups[i].Value, CultureInfo.InvariantCulture));
        }

        if (before is { } b && after is { } a)
        {
            report.ServerCpuSeconds = Math.Round(a.CpuSeconds - b.CpuSeconds, 2);
            report.ServerCpuPercent = Math.Round(100 * report.ServerCpuSeconds / wall, 1);
            report.RequestsPerServerCpuSecond = report.ServerCpuSeconds > 0 ? Math.Round(report.Requests / report.ServerCpuSeconds) : 0;
            report.ServerRssMb = Math.Round(a.RssKb / 1024.0, 1);
        }

        report.LoadCpuPercent = Math.Round(100 * load / wall, 1);
        report.OtherCpuPercent = Math.Round(Math.Max(0, 100 * (machineAfter.BusySeconds - machineBefore.BusySeconds - report.ServerCpuSeconds - load) / wall), 1);

        report.Ok = process.ExitCode == 0 && report.Requests > 0 && report.Non2xx == 0 && report.SocketErrors == 0;
        Console.WriteLine(output.TrimEnd());
        Console.WriteLine($"[{label}] static {file}: {report.RequestsPerSecond:N0} requests/s, p50 {report.LatencyP50Ms:F2} ms, p99 {report.LatencyP99Ms:F2} ms, " +
            $"non-2xx {report.Non2xx}, socket errors {report.SocketErrors}; server {report.ServerCpuPercent:F0} % CPU, {report.RequestsPerServerCpuSecond:N0} requests/CPU-s; wrk {report.LoadCpuPercent:F0} % CPU, other processes {report.OtherCpuPercent:F0} % CPU");
        Console.WriteLine(Json.Write(report));
        return report.Ok ? 0 : 1;
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
