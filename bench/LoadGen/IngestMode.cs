namespace LoadGen;

/// <summary>
/// <c>ingest</c>: N subscribers (N may be 0) hold streams open on a topic and read them, while a wrk command
/// (everything after <c>--</c>) publishes to it; with <c>--warmup S</c> the same command runs for S seconds
/// first, with the subscribers already connected, and is not reported. Reports wrk's figures, how many
/// subscribers were still open at the end (the server may cut the ones that fall behind) and the bytes they
/// received. wrk's events carry no bench sequence number: the subscribers count bytes, not events.
/// </summary>
internal static class IngestMode
{
    public static async Task<int> RunAsync(Args args)
    {
        var options = GroupOptions.From(args);
        string label = args.Get("--label", "server");
        string name = args.Get("--case", "");
        int subscribers = args.GetInt("--subscribers", 0);
        double warmupSeconds = args.GetDouble("--warmup", 0);
        int serverPid = args.GetInt("--server-pid", 0);
        int perProcess = args.GetInt("--per-process", 15_000);
        args.RejectUnknown();
        if (args.Rest.Count == 0)
        {
            throw new ArgumentException("ingest needs the wrk command after --");
        }

        var report = new IngestReport { Label = label, Case = name, Subscribers = subscribers, WarmupSeconds = warmupSeconds };
        string output;
        await using (var pool = new ShardPool(options, perProcess))
        {
            report.Connect = await pool.AddAsync(subscribers).ConfigureAwait(false);
            Console.WriteLine($"[{label}] ingest {name}: {report.Connect} over {pool.Processes} process(es)");

            // Step 1 spans the warm-up, step 2 the measured run: each counts the streams that closed in it.
            await pool.BeginStepAsync(firstSequence: long.MaxValue, capacity: 0).ConfigureAwait(false);
            if (warmupSeconds > 0)
            {
                var warmup = new IngestReport();
                await WrkRunner.RunAsync(WrkRunner.WithDuration(args.Rest, warmupSeconds), serverPid: 0, warmup, CancellationToken.None).ConfigureAwait(false);
                Console.WriteLine($"[{label}] warm-up {warmupSeconds} s: {warmup.RequestsPerSecond:N0} requests/s, non-2xx {warmup.Non2xx}, socket errors {warmup.SocketErrors}");
            }

            var warmed = await pool.EndStepAsync(lastSequence: -1, graceMs: 0).ConfigureAwait(false);
            await pool.BeginStepAsync(firstSequence: long.MaxValue, capacity: 0).ConfigureAwait(false);
            output = await WrkRunner.RunAsync(args.Rest, serverPid, report, CancellationToken.None).ConfigureAwait(false);
            var run = await pool.EndStepAsync(lastSequence: -1, graceMs: 0).ConfigureAwait(false);

            report.ClosedInWarmup = warmed.ClosedDuringStep;
            report.ClosedInRun = run.ClosedDuringStep;
            report.OpenAtEnd = run.Subscribers - run.ClosedDuringStep;
            report.BytesReceived = run.BytesReceived - warmed.BytesReceived;
            report.MegabytesPerSecond = report.WallSeconds > 0 ? Math.Round(report.BytesReceived / report.WallSeconds / 1e6, 2) : 0;
        }

        report.Ok = report.WrkSucceeded && report.Connect.Connected == subscribers;
        Console.WriteLine(output.TrimEnd());
        Console.WriteLine($"[{label}] ingest {name}: {report.RequestsPerSecond:N0} requests/s, p50 {report.LatencyP50Ms:F2} ms, p99 {report.LatencyP99Ms:F2} ms, " +
            $"non-2xx {report.Non2xx}, socket errors {report.SocketErrors}; subscribers {report.Connect.Connected}/{subscribers} connected, {report.OpenAtEnd} open at the end " +
            $"({report.ClosedInWarmup} closed in the warm-up, {report.ClosedInRun} in the run), {report.MegabytesPerSecond:N1} MB/s received; " +
            $"server {report.ServerCpuPercent:F0} % CPU, {report.RequestsPerServerCpuSecond:N0} requests/CPU-s, RSS {report.ServerRssMb:F0} MB; " +
            $"load {report.LoadCpuPercent:F0} % CPU, other processes {report.OtherCpuPercent:F0} % CPU");
        Console.WriteLine(Json.Write(report));
        return report.Ok ? 0 : 1;
    }
}
