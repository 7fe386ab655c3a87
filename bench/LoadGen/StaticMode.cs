namespace LoadGen;

/// <summary>
/// <c>static</c>: runs a wrk command (everything after <c>--</c>, with <c>--latency</c>) and reports one JSON line:
/// requests/s, latency percentiles, errors, and requests per server CPU-second.
/// </summary>
internal static class StaticMode
{
    public static async Task<int> RunAsync(Args args)
    {
        string label = args.Get("--label", "server");
        string file = args.Get("--file", "");
        int serverPid = args.GetInt("--server-pid", 0);
        args.RejectUnknown();

        var report = new StaticReport { Label = label, File = file };
        string output = await WrkRunner.RunAsync(args.Rest, serverPid, report, CancellationToken.None).ConfigureAwait(false);
        report.Ok = report.WrkSucceeded;
        Console.WriteLine(output.TrimEnd());
        Console.WriteLine($"[{label}] static {file}: {report.RequestsPerSecond:N0} requests/s, p50 {report.LatencyP50Ms:F2} ms, p99 {report.LatencyP99Ms:F2} ms, " +
            $"non-2xx {report.Non2xx}, socket errors {report.SocketErrors}; server {report.ServerCpuPercent:F0} % CPU, {report.RequestsPerServerCpuSecond:N0} requests/CPU-s; wrk {report.LoadCpuPercent:F0} % CPU, other processes {report.OtherCpuPercent:F0} % CPU");
        Console.WriteLine(Json.Write(report));
        return report.Ok ? 0 : 1;
    }
}
