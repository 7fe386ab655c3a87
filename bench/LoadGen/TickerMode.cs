using System.Diagnostics;

namespace LoadGen;

/// <summary>
/// <c>ticker</c>: N subscribers on the default topic while the server's ticker runs. Reports, per subscriber,
/// the interval between consecutive ticks and its distance from the period (jitter), and per tick the spread
/// between the first and the last subscriber to receive it.
/// </summary>
internal static class TickerMode
{
    public static async Task<int> RunAsync(Args args)
    {
        var options = GroupOptions.From(args);
        string label = args.Get("--label", "server");
        int subscribers = args.GetInt("--subscribers", 1000);
        double seconds = args.GetDouble("--duration", 20);
        int serverPid = args.GetInt("--server-pid", 0);
        int perProcess = args.GetInt("--per-process", 15_000);
        args.RejectUnknown();

        var report = new TickerReport { Label = label, Subscribers = subscribers, DurationSeconds = seconds, PeriodMs = options.TickPeriodMs };
        await using (var pool = new ShardPool(options, perProcess))
        {
            report.Connect = await pool.AddAsync(subscribers).ConfigureAwait(false);
            Console.WriteLine($"[{label}] ticker: {report.Connect}");
            // One period for every stream to have seen a tick, so each measured interval has a start.
            await Task.Delay(options.TickPeriodMs * 2).ConfigureAwait(false);
            var before = ProcStats.TryRead(serverPid);
            var machineBefore = MachineCpu.Read();
            long started = Stopwatch.GetTimestamp();
            await pool.BeginStepAsync(firstSequence: long.MaxValue, capacity: 0).ConfigureAwait(false);
            await Task.Delay(TimeSpan.FromSeconds(seconds)).ConfigureAwait(false);
            var result = await pool.EndStepAsync(lastSequence: -1, graceMs: 0).ConfigureAwait(false);
            double wall = Stopwatch.GetElapsedTime(started).TotalSeconds;
            var after = ProcStats.TryRead(serverPid);
            var machineAfter = MachineCpu.Read();

            report.IntervalMs = Percentiles.FromMicros(Histogram.FromData(result.TickIntervals));
            report.JitterMs = Percentiles.FromMicros(Histogram.FromData(result.TickJitter));
            report.TicksMissed = result.TicksMissed;
            // The first and last ticks of the window may be cut by its edges: only the ones in between count.
            var inner = result.Ticks.Count > 2 ? result.Ticks.GetRange(1, result.Ticks.Count - 2) : [];
            var spread = new Histogram();
            foreach (var t in inner)
            {
                spread.Record(StepStats.ToMicros(t.Last - t.First));
            }

            report.Ticks = inner.Count;
            report.IncompleteTicks = inner.Count(t => t.Count < result.Subscribers);
            report.SpreadMs = Percentiles.FromMicros(spread);
            report.Ok = report.Connect.Failed == 0 && report.TicksMissed == 0 && report.IncompleteTicks == 0 && report.Ticks > 0;
            if (before is { } b && after is { } a)
            {
                report.ServerCpuSeconds = Math.Round(a.CpuSeconds - b.CpuSeconds, 2);
                report.ServerCpuPercent = Math.Round(100 * report.ServerCpuSeconds / wall, 1);
                report.ServerRssMb = Math.Round(a.RssKb / 1024.0, 1);
            }

            report.LoadCpuPercent = Math.Round(100 * result.CpuSeconds / wall, 1);
            double other = machineAfter.BusySeconds - machineBefore.BusySeconds - report.ServerCpuSeconds - result.CpuSeconds;
            report.OtherCpuPercent = Math.Round(Math.Max(0, 100 * other / wall), 1);
        }

        Console.WriteLine($"[{label}] ticker: {report.Ticks} ticks x {subscribers:N0} subscribers, period {report.PeriodMs} ms");
        Console.WriteLine($"    interval {report.IntervalMs}");
        Console.WriteLine($"    |interval - period| {report.JitterMs}");
        Console.WriteLine($"    first-to-last subscriber spread {report.SpreadMs}");
        Console.WriteLine($"    ticks missed {report.TicksMissed}, incomplete ticks {report.IncompleteTicks}; server {report.ServerCpuPercent:F1} % CPU, RSS {report.ServerRssMb:F1} MB; load generator {report.LoadCpuPercent:F1} % CPU; other processes {report.OtherCpuPercent:F1} % CPU");
        Console.WriteLine(Json.Write(report));
        return 0;
    }
}
