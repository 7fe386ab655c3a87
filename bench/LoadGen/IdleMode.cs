namespace LoadGen;

/// <summary>
/// <c>idle</c>: opens subscribers in steps (e.g. 1000,5000,10000,19000), lets the server settle after each,
/// and reads its resident memory; the slope between two points is the memory one more idle subscriber costs.
/// </summary>
internal static class IdleMode
{
    public static async Task<int> RunAsync(Args args)
    {
        var options = GroupOptions.From(args);
        string label = args.Get("--label", "server");
        double[] steps = args.GetList("--steps", args.Get("--subscribers", "1000"));
        int settleMs = args.GetInt("--settle-ms", 3000);
        int serverPid = args.GetInt("--server-pid", 0);
        int perProcess = args.GetInt("--per-process", 15_000);
        args.RejectUnknown();

        var report = new IdleReport { Label = label, Ok = true };
        await using (var pool = new ShardPool(options, perProcess))
        {
            report.Points.Add(Measure(0, serverPid));
            Console.WriteLine($"[{label}] idle: 0 subscribers, server RSS {report.Points[0].ServerRssKb / 1024.0:F1} MB");
            foreach (int target in steps.Select(s => (int)s))
            {
                var connect = await pool.AddAsync(target - pool.Total).ConfigureAwait(false);
                report.Ok &= connect.Failed == 0;
                await Task.Delay(settleMs).ConfigureAwait(false);
                var point = Measure(pool.Total, serverPid);
                point.Connected = connect.Connected;
                point.ConnectSeconds = Math.Round(connect.Seconds, 2);
                point.Failures = connect.Failures;
                report.Points.Add(point);
                var previous = report.Points[^2];
                double slope = (point.ServerRssKb - previous.ServerRssKb) * 1024.0 / Math.Max(1, point.Subscribers - previous.Subscribers);
                point.BytesPerSubscriberSincePrevious = Math.Round(slope);
                Console.WriteLine($"[{label}] idle: {connect} ({pool.Processes} load process(es)); server RSS {point.ServerRssKb / 1024.0:F1} MB, " +
                    $"{slope:N0} bytes per subscriber since {previous.Subscribers:N0}; {point.ServerThreads} threads");
            }
        }

        if (report.Points.Count > 2)
        {
            var first = report.Points[1];
            var last = report.Points[^1];
            report.BytesPerSubscriber = Math.Round((last.ServerRssKb - first.ServerRssKb) * 1024.0 / Math.Max(1, last.Subscribers - first.Subscribers));
            Console.WriteLine($"[{label}] idle: {report.BytesPerSubscriber:N0} bytes per subscriber between {first.Subscribers:N0} and {last.Subscribers:N0}");
        }

        Console.WriteLine(Json.Write(report));
        return 0;
    }

    private static IdlePoint Measure(int subscribers, int serverPid)
    {
        var server = ProcStats.TryRead(serverPid);
        return new IdlePoint
        {
            Subscribers = subscribers,
            ServerRssKb = server?.RssKb ?? 0,
            ServerThreads = server?.Threads ?? 0,
            ServerCpuSeconds = server?.CpuSeconds ?? 0,
        };
    }
}
