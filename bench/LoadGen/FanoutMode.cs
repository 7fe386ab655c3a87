using System.Globalization;
using System.Diagnostics;

namespace LoadGen;

/// <summary>
/// <c>fanout</c>: N subscribers on one topic; the publisher raises its rate step by step (each step D seconds)
/// and each step reports delivery latency, the time until the last subscriber has each event, loss,
/// duplicates and reordering, throughput, and the server's and the load generator's CPU. A step is clean
/// when nothing was lost and p99 stayed within <c>--max-p99-ms</c>; it is sustained when nothing was lost
/// and p99 stayed within <c>--stop-p99-ms</c>. With <c>--stop-on-fail</c> (the default) the ramp stops at the
/// first step that is not sustained, so the curve goes on past the clean limit while the server keeps up.
/// </summary>
internal static class FanoutMode
{
    public static async Task<int> RunAsync(Args args)
    {
        var options = GroupOptions.From(args);
        string label = args.Get("--label", "server");
        int subscribers = args.GetInt("--subscribers", 1000);
        double[] rates = args.GetList("--rates", args.Get("--rate", "100"));
        double seconds = args.GetDouble("--duration", 10);
        double warmupSeconds = args.GetDouble("--warmup", 2);
        int size = args.GetInt("--size", 100);
        int serverPid = args.GetInt("--server-pid", 0);
        // With --ports: each node's pid, in the same order (its CPU per delivery is reported on its own).
        int[] serverPids = [.. args.GetList("--server-pids", serverPid.ToString(CultureInfo.InvariantCulture)).Select(p => (int)p)];
        int storePid = args.GetInt("--store-pid", 0);
        string scenario = args.Get("--scenario", "fanout");
        double maxP99Ms = args.GetDouble("--max-p99-ms", 100);
        double stopP99Ms = args.GetDouble("--stop-p99-ms", 1000);
        int graceMs = args.GetInt("--grace-ms", 5000);
        int window = args.GetInt("--window", 256);
        int perProcess = args.GetInt("--per-process", 15_000);
        bool stopOnFail = args.Get("--stop-on-fail", "true") == "true";
        double disturbedPercent = args.GetDouble("--retry-disturbed", 25);
        var publishUrl = new Uri(args.Get("--publish-url", new Uri(options.Url, "/publish").ToString()));
        string topic = args.Get("--topic", TopicOf(options.Url));
        string? publishAuth = args.Get("--publish-auth", "") is { Length: > 0 } auth ? auth : null;
        string publishFields = args.Get("--publish-fields", "");
        // Where the publishes go: --ports by default (event SEQ to port SEQ mod N), or these (one port: one order).
        int[] publishPorts = [.. args.GetList("--publish-ports", "").Select(p => (int)p)];
        args.RejectUnknown();
        if (options.Ports.Count > 1 && serverPids.Length != options.Ports.Count)
        {
            throw new ArgumentException($"--server-pids needs one pid per port of --ports ({options.Ports.Count})");
        }

        var servers = new ServerSet(serverPids, storePid, options.Ports.Count > 0 ? options.Ports : [options.Url.Port]);
        var report = new FanoutReport
        {
            Label = label, Scenario = scenario, Ports = [.. options.Ports], Subscribers = subscribers, Size = size, DurationSeconds = seconds,
            MaxP99Ms = maxP99Ms, StopP99Ms = stopP99Ms,
        };
        await using (var pool = new ShardPool(options, perProcess))
        {
            report.Connect = await pool.AddAsync(subscribers).ConfigureAwait(false);
            report.LoadProcesses = pool.Processes;
            Console.WriteLine($"[{label}] fanout: {report.Connect} over {pool.Processes} process(es)");
            using var publisher = new Publisher(publishUrl, topic, size, publishAuth, publishFields, publishPorts.Length > 0 ? publishPorts : options.Ports);
            long sequence = 1;
            if (warmupSeconds > 0)
            {
                // JIT tiers, thread pools and socket buffers settle here; nothing of it is reported.
                var warmup = await RunStepAsync(pool, publisher, rates[0], warmupSeconds, size, sequence, window, graceMs, servers, maxP99Ms, stopP99Ms).ConfigureAwait(false);
                Console.WriteLine($"[{label}] warm-up {rates[0]:N0}/s for {warmupSeconds} s: {warmup.Delivered:N0}/{warmup.Expected:N0} delivered, latency {warmup.LatencyMs}");
                sequence += warmup.Published;
            }

            foreach (double rate in rates)
            {
                var step = await RunStepAsync(pool, publisher, rate, seconds, size, sequence, window, graceMs, servers, maxP99Ms, stopP99Ms).ConfigureAwait(false);
                Console.WriteLine(step.Describe(label));
                sequence += step.Published;
                if (!step.Clean && disturbedPercent > 0 && step.OtherCpuPercent > disturbedPercent)
                {
                    // Another job took the CPUs: one more try at the same rate, and the first try is kept in the record.
                    Console.WriteLine($"[{label}] {rate:N0}/s was disturbed (other processes {step.OtherCpuPercent:F0} % CPU): trying it once more");
                    var retry = await RunStepAsync(pool, publisher, rate, seconds, size, sequence, window, graceMs, servers, maxP99Ms, stopP99Ms).ConfigureAwait(false);
                    retry.DisturbedFirstTry = $"{step.Why} (other processes {step.OtherCpuPercent:F0} % CPU)";
                    step = retry;
                    Console.WriteLine(step.Describe(label));
                    sequence += step.Published;
                }

                report.Steps.Add(step);
                if (step.Clean)
                {
                    report.HighestCleanRate = Math.Max(report.HighestCleanRate, rate);
                }

                if (step.Sustained)
                {
                    report.HighestSustainedRate = Math.Max(report.HighestSustainedRate, rate);
                }
                else if (stopOnFail)
                {
                    break;
                }
            }
        }

        report.Ok = report.Connect!.Failed == 0;
        var best = report.Steps.Where(s => s.Clean).OrderByDescending(s => s.TargetRate).FirstOrDefault();
        Console.WriteLine($"[{label}] highest clean rate (p99 <= {maxP99Ms} ms, nothing lost): {report.HighestCleanRate:N0} events/s x {subscribers:N0} subscribers" +
            (best is null ? "" : $" = {best.DeliveriesPerSecond:N0} deliveries/s, {best.DeliveriesPerServerCpuSecond:N0} deliveries per server CPU-second"));
        var sustained = report.Steps.Where(s => s.Sustained).OrderByDescending(s => s.TargetRate).FirstOrDefault();
        Console.WriteLine($"[{label}] highest sustained rate (p99 <= {stopP99Ms} ms, nothing lost): {report.HighestSustainedRate:N0} events/s" +
            (sustained is null ? "" : $" = {sustained.DeliveriesPerSecond:N0} deliveries/s, {sustained.DeliveriesPerServerCpuSecond:N0} deliveries per server CPU-second"));
        Console.WriteLine(Json.Write(report));
        return 0;
    }

    private static async Task<FanoutStep> RunStepAsync(ShardPool pool, Publisher publisher, double rate, double seconds, int size, long firstSequence,
        int window, int graceMs, ServerSet servers, double maxP99Ms, double stopP99Ms)
    {
        int capacity = (int)Math.Ceiling(rate * seconds) + 16;
        var serversBefore = servers.Read();
        var machineBefore = MachineCpu.Read();
        long started = Stopwatch.GetTimestamp();
        await pool.BeginStepAsync(firstSequence, capacity).ConfigureAwait(false);
        var published = await Task.Factory.StartNew(() => publisher.Run(rate, seconds, firstSequence, window), TaskCreationOptions.LongRunning).ConfigureAwait(false);
        var result = await pool.EndStepAsync(published.LastSequence, graceMs).ConfigureAwait(false);
        double wall = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var serversAfter = servers.Read();
        var machineAfter = MachineCpu.Read();

        var latency = Histogram.FromData(result.Latency);
        var completion = PerEvent(result.CompletionMicros);

        var step = new FanoutStep
        {
            TargetRate = rate,
            Published = published.Sent,
            AchievedRate = Math.Round(published.Sent / Math.Max(published.Seconds, 1e-9), 1),
            PublishFailed = published.Failed,
            PublishStalled = published.Stalled,
            PublishRoundTripMs = Percentiles.FromMicros(published.RoundTrip),
            Subscribers = result.Subscribers,
            Closed = result.ClosedDuringStep,
            Expected = result.Expected,
            Delivered = result.Received,
            Lost = result.Missing,
            Duplicates = result.Duplicates,
            OutOfOrder = result.OutOfOrder,
            Drained = result.Drained,
            LatencyMs = Percentiles.FromMicros(latency),
            LastSubscriberMs = Percentiles.FromMicros(completion),
            FirstDeliveryMs = Percentiles.FromMicros(PerEvent(result.FirstMicros)),
            DeliveriesPerSecond = Math.Round(result.Received / Math.Max(published.Seconds, 1e-9)),
            WallSeconds = Math.Round(wall, 2),
            LoadCpuSeconds = Math.Round(result.CpuSeconds, 2),
            LoadCpuPercent = Math.Round(100 * result.CpuSeconds / wall, 1),
            LoadRssMb = Math.Round(result.RssKb / 1024.0, 1),
            LoadGcPauseMs = result.GcPauseMs,
            LoadGcCount = result.GcCount,
        };

        var cpu = new double[serversBefore.Nodes.Length];
        for (int i = 0; i < cpu.Length; i++)
        {
            if (serversBefore.Nodes[i] is { } before && serversAfter.Nodes[i] is { } after)
            {
                cpu[i] = after.CpuSeconds - before.CpuSeconds;
                step.ServerCpuSeconds += cpu[i];
                step.ServerRssMb += after.RssKb / 1024.0;
                step.ServerThreads += after.Threads;
            }
        }

        if (serversAfter.Nodes.Any(n => n is not null))
        {
            step.ServerCpuSeconds = Math.Round(step.ServerCpuSeconds, 2);
            step.ServerCpuPercent = Math.Round(100 * step.ServerCpuSeconds / wall, 1);
            step.ServerRssMb = Math.Round(step.ServerRssMb, 1);
            step.DeliveriesPerServerCpuSecond = step.ServerCpuSeconds > 0 ? Math.Round(result.Received / step.ServerCpuSeconds) : 0;
        }

        for (int t = 0; t < result.Targets.Count; t++)
        {
            var part = result.Targets[t];
            double nodeCpu = t < cpu.Length ? cpu[t] : 0;
            step.Nodes.Add(new NodeStep
            {
                Port = t < servers.Ports.Count ? servers.Ports[t] : 0,
                Subscribers = part.Subscribers,
                Closed = part.Closed,
                Delivered = part.Received,
                Lost = part.Missing,
                LatencyMs = Percentiles.FromMicros(Histogram.FromData(part.Latency)),
                CpuSeconds = Math.Round(nodeCpu, 2),
                CpuPercent = Math.Round(100 * nodeCpu / wall, 1),
                DeliveriesPerCpuSecond = nodeCpu > 0 ? Math.Round(part.Received / nodeCpu) : 0,
                RssMb = t < cpu.Length && serversAfter.Nodes[t] is { } node ? Math.Round(node.RssKb / 1024.0, 1) : 0,
            });
        }

        if (serversBefore.Store is { } storeBefore && serversAfter.Store is { } storeAfter)
        {
            step.StoreCpuSeconds = Math.Round(storeAfter.CpuSeconds - storeBefore.CpuSeconds, 2);
            step.StoreCpuPercent = Math.Round(100 * step.StoreCpuSeconds / wall, 1);
        }

        double other = machineAfter.BusySeconds - machineBefore.BusySeconds - step.ServerCpuSeconds - step.StoreCpuSeconds - result.CpuSeconds;
        step.OtherCpuPercent = Math.Round(Math.Max(0, 100 * other / wall), 1);
        step.StealPercent = Math.Round(100 * (machineAfter.StealSeconds - machineBefore.StealSeconds) / wall, 1);

        var why = new List<string>();
        if (step.Lost > 0) why.Add($"{step.Lost:N0} lost");
        if (step.Duplicates > 0) why.Add($"{step.Duplicates:N0} duplicated");
        if (step.OutOfOrder > 0) why.Add($"{step.OutOfOrder:N0} out of order");
        if (step.Closed > 0) why.Add($"{step.Closed:N0} streams closed");
        if (step.PublishFailed > 0) why.Add($"{step.PublishFailed:N0} publishes failed");
        if (step.PublishStalled) why.Add("publisher stalled");
        if (step.AchievedRate < 0.95 * rate) why.Add($"publisher reached only {step.AchievedRate:N0}/s");
        if (!step.Drained) why.Add("not drained within the grace period");
        bool lossless = why.Count == 0;
        if (step.LatencyMs.P99 > maxP99Ms) why.Add($"p99 {step.LatencyMs.P99:F1} ms > {maxP99Ms} ms");
        step.Clean = why.Count == 0;
        step.Sustained = lossless && step.LatencyMs.P99 <= stopP99Ms;
        step.Why = string.Join("; ", why);
        step.LoadBound = step.LoadCpuPercent >= 90;
        return step;
    }

    /// <summary>Per-event figures (0: none) as a histogram.</summary>
    private static Histogram PerEvent(long[] micros)
    {
        var histogram = new Histogram();
        foreach (long m in micros)
        {
            if (m > 0)
            {
                histogram.Record(m);
            }
        }

        return histogram;
    }

    private static string TopicOf(Uri url)
    {
        foreach (var pair in url.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            if (pair.StartsWith("topic=", StringComparison.Ordinal))
            {
                return Uri.UnescapeDataString(pair[6..]);
            }
        }

        return "default";
    }
}
