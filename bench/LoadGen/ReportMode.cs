using System.Globalization;
using System.Text;
using System.Text.Json;

namespace LoadGen;

/// <summary>
/// <c>report</c>: turns the JSON lines of one run (every mode's last line, in run order) into a Markdown
/// report with headline ratios against RawSse, one table per scenario, and gnuplot scripts and data for
/// the charts (bench/run.sh runs gnuplot on them).
/// </summary>
internal static class ReportMode
{
    private const string Reference = "rawsse";

    public static int Run(Args args)
    {
        string input = args.Get("--in", "results.jsonl");
        string output = args.Get("--out", "results.md");
        string charts = args.Get("--charts", Path.ChangeExtension(output, null));
        string? meta = args.GetOrNull("--meta");
        args.RejectUnknown();

        var idle = new List<IdleReport>();
        var fanout = new List<FanoutReport>();
        var cluster = new List<FanoutReport>();
        var ticker = new List<TickerReport>();
        var statics = new List<StaticReport>();
        var ingest = new List<IngestReport>();
        var stall = new List<FanoutReport>();
        var startup = new List<StartupReport>();
        var crashes = new List<string>();
        var noise = new List<NoiseReport>();
        foreach (var line in File.ReadLines(input).Where(l => l.StartsWith('{')))
        {
            using var doc = JsonDocument.Parse(line);
            string mode = doc.RootElement.GetProperty("mode").GetString() ?? "";
            switch (mode)
            {
                case "idle": idle.Add(Json.Read<IdleReport>(line)); break;
                case "fanout":
                    var run = Json.Read<FanoutReport>(line);
                    (run.Scenario switch { "cluster" => cluster, StallSection.Unloaded or StallSection.Loaded => stall, _ => fanout }).Add(run);
                    break;
                case "ticker": ticker.Add(Json.Read<TickerReport>(line)); break;
                case "static": statics.Add(Json.Read<StaticReport>(line)); break;
                case "ingest": ingest.Add(Json.Read<IngestReport>(line)); break;
                case "startup": startup.Add(Json.Read<StartupReport>(line)); break;
                case "noise": noise.Add(Json.Read<NoiseReport>(line)); break;
                case "crash":
                    crashes.Add($"{doc.RootElement.GetProperty("label").GetString()} exited during {doc.RootElement.GetProperty("scenario").GetString()} " +
                        $"(exit code {doc.RootElement.GetProperty("exitCode")})");
                    break;
            }
        }

        Directory.CreateDirectory(charts);
        string chartDir = Path.GetFileName(Path.GetFullPath(charts).TrimEnd('/'));
        var md = new StringBuilder();
        var metaLines = meta is not null && File.Exists(meta) ? File.ReadAllLines(meta) : [];
        string runMode = metaLines.FirstOrDefault(l => l.StartsWith("mode:", StringComparison.Ordinal))?[5..].Trim() ?? "";
        md.AppendLine(CultureInfo.InvariantCulture, $"# RawSse benchmarks, {runMode} run");
        md.AppendLine();
        if (runMode == "quick")
        {
            md.AppendLine("> A `--quick` run: every scenario at a small scale, to check that the harness works end to end. Its numbers are not measurements to quote.");
            md.AppendLine();
        }

        foreach (var l in metaLines)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"- {l}");
        }

        md.AppendLine();
        Headlines(md, idle, fanout, ticker, statics, startup);
        IngestSection.Headlines(md, ingest);
        StallSection.Headlines(md, stall, ingest);
        Problems(md, [.. crashes, .. IngestSection.Problems(ingest)], idle, [.. fanout, .. cluster, .. stall], ticker, statics, startup);
        Noise(md, noise);
        Idle(md, idle, charts, chartDir);
        Fanout(md, fanout, charts, chartDir);
        Cluster(md, cluster, charts, chartDir);
        Ticker(md, ticker, charts, chartDir);
        Static(md, statics, charts, chartDir);
        IngestSection.Write(md, ingest);
        StallSection.Write(md, stall, ingest);
        Startup(md, startup, charts, chartDir);
        md.AppendLine("See bench/README.md for what each scenario measures and how to read it.");
        File.WriteAllText(output, md.ToString());
        Console.WriteLine($"report: {output}");
        return 0;
    }

    private static void Headlines(StringBuilder md, List<IdleReport> idle, List<FanoutReport> fanout, List<TickerReport> ticker,
        List<StaticReport> statics, List<StartupReport> startup)
    {
        md.AppendLine("## Headlines");
        md.AppendLine();
        md.AppendLine("Ratios are the peer's figure divided by RawSse's, from this same run.");
        md.AppendLine();
        var labels = Labels(idle, fanout, ticker, startup);
        if (labels.Count > 0)
        {
            FigureRows(md, labels, idle, fanout, ticker, startup);
        }

        StaticRows(md, statics);
    }

    private static void FigureRows(StringBuilder md, List<string> labels, List<IdleReport> idle, List<FanoutReport> fanout, List<TickerReport> ticker,
        List<StartupReport> startup)
    {
        md.AppendLine("| figure | " + string.Join(" | ", labels) + " |");
        md.AppendLine("|---|" + string.Concat(labels.Select(_ => "---|")));
        Row(md, labels, "idle memory per subscriber (bytes, lower is better)", l => idle.FirstOrDefault(r => r.Label == l)?.BytesPerSubscriber);
        Row(md, labels, "RSS at the largest idle point (MB)", l => idle.FirstOrDefault(r => r.Label == l)?.Points.LastOrDefault()?.ServerRssKb / 1024.0);
        Row(md, labels, "fan-out: highest clean publish rate (events/s)", l => fanout.FirstOrDefault(r => r.Label == l)?.HighestCleanRate);
        Row(md, labels, "fan-out: highest sustained rate, p99 under the stop bound (events/s)", l => fanout.FirstOrDefault(r => r.Label == l)?.HighestSustainedRate);
        Row(md, labels, "fan-out: deliveries/s at that rate", l => BestStep(fanout, l)?.DeliveriesPerSecond);
        var common = CommonSustainedRate(fanout);
        if (common > 0)
        {
            Row(md, labels, $"fan-out at {common:N0}/s (highest rate all sustained): deliveries per server CPU-second", l => StepAt(fanout, l, common)?.DeliveriesPerServerCpuSecond);
            Row(md, labels, $"fan-out at {common:N0}/s: p50 latency (ms)", l => StepAt(fanout, l, common)?.LatencyMs.P50);
            Row(md, labels, $"fan-out at {common:N0}/s: p99 latency (ms)", l => StepAt(fanout, l, common)?.LatencyMs.P99);
            Row(md, labels, $"fan-out at {common:N0}/s: last subscriber p99 (ms)", l => StepAt(fanout, l, common)?.LastSubscriberMs.P99);
        }

        Row(md, labels, "ticker: p99 jitter, distance of an interval from 500 ms (ms)", l => ticker.FirstOrDefault(r => r.Label == l)?.JitterMs.P99);
        Row(md, labels, "ticker: p99 first-to-last subscriber spread (ms)", l => ticker.FirstOrDefault(r => r.Label == l)?.SpreadMs.P99);
        Row(md, labels, "start-up: median exec to first byte (ms)", l => Median(startup.Where(r => r.Label == l).SelectMany(r => r.Runs).Where(r => r.FirstByteMs >= 0).Select(r => r.FirstByteMs)));
        Row(md, labels, "start-up: median idle RSS (MB)", l => Median(startup.Where(r => r.Label == l).SelectMany(r => r.Runs).Where(r => r.FirstByteMs >= 0).Select(r => r.IdleRssKb / 1024.0)));
        md.AppendLine();
    }

    private static void StaticRows(StringBuilder md, List<StaticReport> statics)
    {
        var staticLabels = statics.Select(s => s.Label).Distinct().OrderBy(LabelOrder).ToList();
        if (staticLabels.Count > 0)
        {
            md.AppendLine("| static files (requests/s) | " + string.Join(" | ", staticLabels) + " |");
            md.AppendLine("|---|" + string.Concat(staticLabels.Select(_ => "---|")));
            foreach (var file in statics.Select(s => s.File).Distinct())
            {
                Row(md, staticLabels, file, l => statics.FirstOrDefault(s => s.Label == l && s.File == file)?.RequestsPerSecond);
            }

            md.AppendLine();
        }
    }

    private static void Problems(StringBuilder md, List<string> crashes, List<IdleReport> idle, List<FanoutReport> fanout, List<TickerReport> ticker,
        List<StaticReport> statics, List<StartupReport> startup)
    {
        var problems = new List<string>(crashes);
        problems.AddRange(idle.Where(r => !r.Ok).Select(r => $"idle, {r.Label}: not every subscriber connected ({string.Join("; ", r.Points.Where(p => p.Failures.Count > 0).Select(p => $"at {p.Subscribers:N0}: " + string.Join(", ", p.Failures.Select(f => $"{f.Key} {f.Value}"))))})"));
        problems.AddRange(fanout.Where(r => r.Connect is { Failed: > 0 }).Select(r => $"fan-out{ScenarioNote(r)}, {r.Label}: {r.Connect}"));
        problems.AddRange(fanout.SelectMany(r => r.Steps.Where(s => s.Lost + s.Duplicates + s.OutOfOrder + s.Closed > 0)
            .Select(s => $"fan-out{ScenarioNote(r)}, {r.Label} at {s.TargetRate:N0}/s: {s.Lost:N0} lost, {s.Duplicates:N0} duplicated, {s.OutOfOrder:N0} out of order, {s.Closed:N0} streams closed")));
        problems.AddRange(ticker.Where(r => !r.Ok).Select(r => $"ticker, {r.Label}: {r.Connect}; {r.TicksMissed} ticks missed, {r.IncompleteTicks} ticks not seen by every subscriber"));
        problems.AddRange(statics.Where(r => !r.Ok).Select(r => $"static, {r.Label} {r.File}: {r.Non2xx} non-2xx, {r.SocketErrors} socket errors"));
        problems.AddRange(startup.Where(r => !r.Ok).Select(r => $"start-up, {r.Label}: no byte served within the timeout"));
        problems.AddRange(startup.SelectMany(r => r.Runs.Where(run => run.ExitCode is not (0 or 143)).Select(run => $"start-up, {r.Label}: exit code {run.ExitCode} after SIGTERM")));
        md.AppendLine("## Problems seen");
        md.AppendLine();
        if (problems.Count == 0)
        {
            md.AppendLine("None: no crash, no lost, duplicated or reordered event below each server's limit, every connection accepted.");
        }
        else
        {
            md.AppendLine("Loss past a server's highest clean rate is how a ramp ends and is expected for the peers (they drop events for slow clients by design); for RawSse any loss, crash or refused connection is worth a look.");
            md.AppendLine();
            foreach (var p in problems)
            {
                md.AppendLine(CultureInfo.InvariantCulture, $"- {p}");
            }
        }

        md.AppendLine();
    }

    private static string ScenarioNote(FanoutReport r) => r.Scenario == "fanout" ? "" : $" ({r.Scenario})";

    private static void Noise(StringBuilder md, List<NoiseReport> noise)
    {
        if (noise.Count == 0)
        {
            return;
        }

        md.AppendLine("## Machine noise");
        md.AppendLine();
        md.AppendLine("A thread spinning alone on each CPU, before and after the scenarios: every gap in its progress is time the (virtual) machine took away. Gaps of tens of ms show up in every server's tail latency alike; compare servers within one run, and distrust a run whose probes are loud.");
        md.AppendLine();
        md.AppendLine("| probe | gaps > 1 ms | gaps > 10 ms | longest ms | CPU time lost |");
        md.AppendLine("|---|---:|---:|---:|---:|");
        foreach (var n in noise)
        {
            md.AppendLine(Inv($"| {n.Label} | {n.GapsOver1Ms} | {n.GapsOver10Ms} | {n.MaxGapMs:F1} | {n.StalledPercent:F2} % |"));
        }

        md.AppendLine();
    }

    private static void Idle(StringBuilder md, List<IdleReport> idle, string charts, string chartDir)
    {
        if (idle.Count == 0)
        {
            return;
        }

        md.AppendLine("## Idle footprint");
        md.AppendLine();
        md.AppendLine("Server RSS after each group of idle subscribers has connected and settled; \"bytes/sub\" is the slope from the previous point.");
        md.AppendLine();
        md.AppendLine("| server | subscribers | RSS (MB) | bytes/sub since previous | threads | connect (s) |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|");
        foreach (var r in idle.OrderBy(r => LabelOrder(r.Label)))
        {
            foreach (var p in r.Points)
            {
                md.AppendLine(CultureInfo.InvariantCulture, $"| {r.Label} | {p.Subscribers:N0} | {p.ServerRssKb / 1024.0:F1} | {(p.Subscribers == 0 ? "" : p.BytesPerSubscriberSincePrevious.ToString("N0", CultureInfo.InvariantCulture))} | {p.ServerThreads} | {(p.Subscribers == 0 ? "" : p.ConnectSeconds.ToString("F1", CultureInfo.InvariantCulture))} |");
            }

            File.WriteAllLines(Path.Combine(charts, $"idle-{r.Label}.dat"), r.Points.Select(p => Inv($"{p.Subscribers} {p.ServerRssKb / 1024.0:F2}")));
        }

        md.AppendLine();
        WriteChart(charts, "idle", """
            set title "Idle footprint: server RSS vs open subscribers"
            set xlabel "subscribers"
            set ylabel "RSS (MB)"
            set key top left
            set grid
            """, idle.Select(r => r.Label), l => $"'idle-{l}.dat' using 1:2 with linespoints title '{l}'");
        md.AppendLine(CultureInfo.InvariantCulture, $"![idle footprint]({chartDir}/idle.png)");
        md.AppendLine();
    }

    private static void Fanout(StringBuilder md, List<FanoutReport> fanout, string charts, string chartDir)
    {
        if (fanout.Count == 0)
        {
            return;
        }

        md.AppendLine("## Fan-out");
        md.AppendLine();
        var first = fanout[0];
        md.AppendLine(CultureInfo.InvariantCulture, $"{first.Subscribers:N0} subscribers on one topic, {first.Size}-byte events published through `POST /publish` on one pipelined keep-alive connection, {first.DurationSeconds} s per rate. A rate is *clean* when no event was lost, duplicated or reordered, no stream closed, the publisher kept the rate, and p99 ≤ {first.MaxP99Ms} ms; it is *sustained* under the same conditions with p99 ≤ {first.StopP99Ms} ms, and the ramp stops at the first rate that is not sustained. Latency is publish-to-delivery per event and subscriber; \"last sub\" is, per event, the time until the last subscriber had it. \"load %\" is the load generator's CPU on its one core: near 100 % the load generator, not the server, sets the limit. \"other %\" is CPU used by processes that are neither (another job on the machine): when it is high, the step was disturbed.");
        md.AppendLine();
        md.AppendLine("| server | rate/s | sent/s | delivered | lost | dup | reord | p50 ms | p99 ms | p99.9 ms | max ms | last sub p99 ms | deliveries/s | server CPU % | deliveries/CPU-s | server RSS MB | load % | other % | verdict |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
        foreach (var r in fanout.OrderBy(r => LabelOrder(r.Label)))
        {
            foreach (var s in r.Steps)
            {
                md.AppendLine(Inv($"| {r.Label} | {s.TargetRate:N0} | {s.AchievedRate:N0} | {s.Delivered:N0} | {s.Lost:N0} | {s.Duplicates:N0} | {s.OutOfOrder:N0} | {s.LatencyMs.P50:F1} | {s.LatencyMs.P99:F1} | {s.LatencyMs.P999:F1} | {s.LatencyMs.Max:F1} | {s.LastSubscriberMs.P99:F1} | {s.DeliveriesPerSecond:N0} | {s.ServerCpuPercent:F0} | {s.DeliveriesPerServerCpuSecond:N0} | {s.ServerRssMb:F0} | {s.LoadCpuPercent:F0} | {s.OtherCpuPercent:F0} | {(s.Clean ? "clean" : s.Sustained ? "sustained: " + s.Why : "no: " + s.Why)}{(s.LoadBound ? "; load generator saturated" : "")}{(s.DisturbedFirstTry is null ? "" : $" (second try; the first was disturbed: {s.DisturbedFirstTry})")} |"));
            }

            File.WriteAllLines(Path.Combine(charts, $"fanout-{r.Label}.dat"),
                r.Steps.Select(s => Inv($"{s.TargetRate} {Math.Max(s.LatencyMs.P50, 0.01):F3} {Math.Max(s.LatencyMs.P99, 0.01):F3} {s.DeliveriesPerServerCpuSecond:F0} {s.DeliveriesPerSecond:F0}")));
        }

        md.AppendLine();
        md.AppendLine("Highest clean rate: " + string.Join(", ", fanout.OrderBy(r => LabelOrder(r.Label)).Select(r => Inv($"{r.Label} {r.HighestCleanRate:N0}/s"))) +
            "; highest sustained rate: " + string.Join(", ", fanout.OrderBy(r => LabelOrder(r.Label)).Select(r => Inv($"{r.Label} {r.HighestSustainedRate:N0}/s"))) + ".");
        md.AppendLine();
        WriteChart(charts, "fanout-latency", $"""
            set title "Fan-out to {first.Subscribers:N0} subscribers: p99 delivery latency"
            set xlabel "publish rate (events/s)"
            set ylabel "p99 latency (ms)"
            set logscale xy
            set key top left
            set grid
            """, fanout.Select(r => r.Label), l => $"'fanout-{l}.dat' using 1:3 with linespoints title '{l}'");
        WriteChart(charts, "fanout-cpu", $"""
            set title "Fan-out to {first.Subscribers:N0} subscribers: deliveries per server CPU-second"
            set xlabel "publish rate (events/s)"
            set ylabel "deliveries per CPU-second"
            set logscale x
            set key top left
            set grid
            """, fanout.Select(r => r.Label), l => $"'fanout-{l}.dat' using 1:4 with linespoints title '{l}'");
        md.AppendLine(CultureInfo.InvariantCulture, $"![fan-out latency]({chartDir}/fanout-latency.png)");
        md.AppendLine(CultureInfo.InvariantCulture, $"![fan-out efficiency]({chartDir}/fanout-cpu.png)");
        md.AppendLine();
    }

    private static void Cluster(StringBuilder md, List<FanoutReport> cluster, string charts, string chartDir)
    {
        if (cluster.Count == 0)
        {
            return;
        }

        var clusters = cluster.Where(r => r.Ports.Count > 1).ToList();
        md.AppendLine("## Cluster");
        md.AppendLine();
        md.AppendLine(Inv($"RawSse nodes sharing one NATS JetStream stream (`--store nats://`), subscriber k on node k mod N, against one node with `--store memory` holding as many subscribers as one node of the cluster, measured in the same run. {cluster[0].Size}-byte events on one topic, {cluster[0].DurationSeconds} s per rate after a warm-up. ") +
            "The publishes go to node 0 over one keep-alive connection, so the stream holds them in publish order and a gap is a real loss (the other nodes read them back from the stream like any other). " +
            "Every server and the nats-server share CPU 0, the load generator has CPU 1. Latency is publish to delivery, per event and subscriber on every node; \"first\" is, per event, publish to its first delivery anywhere: " +
            "for the cluster that is the JetStream append, its acknowledgement and the node reading the event back before it sends, for the single node the in-memory append. " +
            "Deliveries per CPU-second: every node's subscribers' deliveries over the nodes' CPU time in the interval, and per node (that node's subscribers' deliveries over that node's CPU time); the nats-server's CPU is its own column.");
        md.AppendLine();
        md.AppendLine("| setup | nodes | subscribers | rate/s | sent/s | delivered | lost | dup | reord | closed | p50 ms | p99 ms | max ms | first p50 ms | first p99 ms | last sub p99 ms | deliveries/CPU-s per node | servers CPU % | nats CPU % | load % | other % | verdict |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---|");
        foreach (var r in cluster)
        {
            foreach (var s in r.Steps)
            {
                var perNode = s.Nodes.Select(n => n.DeliveriesPerCpuSecond).ToList();
                string efficiency = perNode.Count > 1
                    ? Inv($"{s.DeliveriesPerServerCpuSecond:N0} (nodes {perNode.Min():N0}–{perNode.Max():N0})")
                    : Inv($"{s.DeliveriesPerServerCpuSecond:N0}");
                md.AppendLine(Inv($"| {r.Label} | {Math.Max(1, r.Ports.Count)} | {s.Subscribers:N0} | {s.TargetRate:N0} | {s.AchievedRate:N1} | {s.Delivered:N0} | {s.Lost:N0} | {s.Duplicates:N0} | {s.OutOfOrder:N0} | {s.Closed:N0} | {s.LatencyMs.P50:F1} | {s.LatencyMs.P99:F1} | {s.LatencyMs.Max:F1} | {s.FirstDeliveryMs.P50:F2} | {s.FirstDeliveryMs.P99:F2} | {s.LastSubscriberMs.P99:F1} | {efficiency} | {s.ServerCpuPercent:F0} | {(r.Ports.Count > 1 ? s.StoreCpuPercent.ToString("F1", CultureInfo.InvariantCulture) : "–")} | {s.LoadCpuPercent:F0} | {s.OtherCpuPercent:F0} | {(s.Clean ? "clean" : s.Sustained ? "sustained: " + s.Why : "no: " + s.Why)}{(s.LoadBound ? "; load generator saturated" : "")} |"));
            }

            File.WriteAllLines(Path.Combine(charts, $"cluster-{r.Label}.dat"),
                r.Steps.Select(s => Inv($"{s.TargetRate} {Math.Max(s.LatencyMs.P50, 0.01):F3} {Math.Max(s.LatencyMs.P99, 0.01):F3} {Math.Max(s.FirstDeliveryMs.P50, 0.01):F3} {Math.Max(s.FirstDeliveryMs.P99, 0.01):F3}")));
        }

        md.AppendLine();
        md.AppendLine("Per node:");
        md.AppendLine();
        md.AppendLine("| setup | rate/s | port | subscribers | delivered | lost | closed | p50 ms | p99 ms | max ms | CPU-s | CPU % | deliveries/CPU-s | RSS MB |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in cluster)
        {
            foreach (var s in r.Steps)
            {
                foreach (var n in s.Nodes)
                {
                    md.AppendLine(Inv($"| {r.Label} | {s.TargetRate:N0} | {n.Port} | {n.Subscribers:N0} | {n.Delivered:N0} | {n.Lost:N0} | {n.Closed:N0} | {n.LatencyMs.P50:F1} | {n.LatencyMs.P99:F1} | {n.LatencyMs.Max:F1} | {n.CpuSeconds:F2} | {n.CpuPercent:F0} | {n.DeliveriesPerCpuSecond:N0} | {n.RssMb:F0} |"));
                }
            }
        }

        md.AppendLine();
        foreach (var nodes in clusters)
        {
            var single = cluster.FirstOrDefault(r => r.Ports.Count <= 1 && r.Subscribers == nodes.Subscribers / nodes.Ports.Count);
            if (single is null)
            {
                continue;
            }

            md.AppendLine(Inv($"What the cluster costs, {nodes.Label} against {single.Label} at the same rate (\"added\" is the difference):"));
            md.AppendLine();
            md.AppendLine("| rate/s | first delivery p50 ms (added) | first delivery p99 ms (added) | p99 ms, every subscriber | deliveries per node CPU-second (× single) |");
            md.AppendLine("|---:|---|---|---|---|");
            foreach (var s in nodes.Steps)
            {
                var one = single.Steps.FirstOrDefault(o => o.TargetRate == s.TargetRate);
                if (one is null)
                {
                    continue;
                }

                double both = s.DeliveriesPerServerCpuSecond, alone = one.DeliveriesPerServerCpuSecond;
                md.AppendLine(Inv($"| {s.TargetRate:N0} | {s.FirstDeliveryMs.P50:F2} vs {one.FirstDeliveryMs.P50:F2} ({s.FirstDeliveryMs.P50 - one.FirstDeliveryMs.P50:+0.00;-0.00}) | {s.FirstDeliveryMs.P99:F2} vs {one.FirstDeliveryMs.P99:F2} ({s.FirstDeliveryMs.P99 - one.FirstDeliveryMs.P99:+0.00;-0.00}) | {s.LatencyMs.P99:F1} vs {one.LatencyMs.P99:F1} | {both:N0} vs {alone:N0} (×{(alone > 0 ? both / alone : 0):F2}) |"));
            }

            md.AppendLine();
        }

        WriteChart(charts, "cluster-latency", """
            set title "Cluster against one node: p99 latency to every subscriber, and to the first"
            set xlabel "publish rate (events/s)"
            set ylabel "ms"
            set logscale xy
            set key top left
            set grid
            """, cluster.Select(r => r.Label), l => $"'cluster-{l}.dat' using 1:3 with linespoints title '{l} p99', '' using 1:5 with linespoints title '{l} first p99'");
        md.AppendLine(CultureInfo.InvariantCulture, $"![cluster latency]({chartDir}/cluster-latency.png)");
        md.AppendLine();
    }

    private static void Ticker(StringBuilder md, List<TickerReport> ticker, string charts, string chartDir)
    {
        if (ticker.Count == 0)
        {
            return;
        }

        md.AppendLine("## Ticker precision");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"{ticker[0].Subscribers:N0} subscribers on the default topic, the server's 500 ms ticker on, {ticker[0].DurationSeconds} s. Interval: time between two consecutive ticks at one subscriber; jitter: its distance from 500 ms; spread: per tick, first to last subscriber.");
        md.AppendLine();
        md.AppendLine("| server | ticks | interval p50 ms | interval min–max ms | jitter p50 ms | jitter p99 ms | jitter p99.9 ms | jitter max ms | spread p50 ms | spread p99 ms | spread max ms | missed | server CPU % | load % | other % |");
        md.AppendLine("|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        var dat = new List<string>();
        foreach (var r in ticker.OrderBy(r => LabelOrder(r.Label)))
        {
            md.AppendLine(Inv($"| {r.Label} | {r.Ticks} | {r.IntervalMs.P50:F1} | {r.IntervalMs.Min:F1}–{r.IntervalMs.Max:F1} | {r.JitterMs.P50:F2} | {r.JitterMs.P99:F2} | {r.JitterMs.P999:F2} | {r.JitterMs.Max:F2} | {r.SpreadMs.P50:F1} | {r.SpreadMs.P99:F1} | {r.SpreadMs.Max:F1} | {r.TicksMissed} | {r.ServerCpuPercent:F1} | {r.LoadCpuPercent:F0} | {r.OtherCpuPercent:F0} |"));
            dat.Add(Inv($"{r.Label} {r.JitterMs.P50:F3} {r.JitterMs.P99:F3} {r.SpreadMs.P50:F3} {r.SpreadMs.P99:F3}"));
        }

        md.AppendLine();
        File.WriteAllLines(Path.Combine(charts, "ticker.dat"), dat);
        WriteRaw(charts, "ticker", """
            set title "Ticker precision (500 ms period)"
            set ylabel "ms"
            set style data histograms
            set style histogram clustered gap 1
            set style fill solid 0.8 border -1
            set boxwidth 0.9
            set key top left
            set grid ytics
            plot 'ticker.dat' using 2:xtic(1) title 'jitter p50', '' using 3 title 'jitter p99', '' using 4 title 'spread p50', '' using 5 title 'spread p99'
            """);
        md.AppendLine(CultureInfo.InvariantCulture, $"![ticker precision]({chartDir}/ticker.png)");
        md.AppendLine();
    }

    private static void Static(StringBuilder md, List<StaticReport> statics, string charts, string chartDir)
    {
        if (statics.Count == 0)
        {
            return;
        }

        md.AppendLine("## Static files");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"wrk, keep-alive, one thread on CPU 1: `{statics[0].Command}` (and the same for each file and server).");
        md.AppendLine();
        md.AppendLine("| server | file | requests/s | p50 ms | p90 ms | p99 ms | server CPU % | requests/CPU-s | wrk CPU % | other % | errors |");
        md.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in statics.OrderBy(r => r.File).ThenBy(r => LabelOrder(r.Label)))
        {
            md.AppendLine(Inv($"| {r.Label} | {r.File} | {r.RequestsPerSecond:N0} | {r.LatencyP50Ms:F2} | {r.LatencyP90Ms:F2} | {r.LatencyP99Ms:F2} | {r.ServerCpuPercent:F0} | {r.RequestsPerServerCpuSecond:N0} | {r.LoadCpuPercent:F0} | {r.OtherCpuPercent:F0} | {r.Non2xx + r.SocketErrors} |"));
        }

        md.AppendLine();
        var files = statics.Select(s => s.File).Distinct().ToList();
        File.WriteAllLines(Path.Combine(charts, "static.dat"), statics.Select(s => s.Label).Distinct().OrderBy(LabelOrder)
            .Select(l => l + " " + string.Join(' ', files.Select(f => Inv($"{statics.FirstOrDefault(s => s.Label == l && s.File == f)?.RequestsPerSecond ?? 0:F0}")))));
        WriteRaw(charts, "static", $"""
            set title "Static files over keep-alive (wrk)"
            set ylabel "requests/s"
            set style data histograms
            set style histogram clustered gap 1
            set style fill solid 0.8 border -1
            set boxwidth 0.9
            set key top right
            set grid ytics
            set yrange [0:*]
            plot {string.Join(", ", files.Select((f, i) => i == 0 ? $"'static.dat' using 2:xtic(1) title '{f}'" : $"'' using {i + 2} title '{f}'"))}
            """);
        md.AppendLine(CultureInfo.InvariantCulture, $"![static files]({chartDir}/static.png)");
        md.AppendLine();
    }

    private static void Startup(StringBuilder md, List<StartupReport> startup, string charts, string chartDir)
    {
        if (startup.Count == 0)
        {
            return;
        }

        md.AppendLine("## Start-up");
        md.AppendLine();
        md.AppendLine("From exec (under `taskset -c 0`) to the first byte of a response to `GET /`, then the idle RSS after the settle time. Runs alternate between the servers.");
        md.AppendLine();
        md.AppendLine("| server | runs | first byte median ms | min ms | max ms | idle RSS median MB |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|");
        var dat = new List<string>();
        foreach (var label in startup.Select(s => s.Label).Distinct().OrderBy(LabelOrder))
        {
            var runs = startup.Where(s => s.Label == label).SelectMany(s => s.Runs).Where(r => r.FirstByteMs >= 0).ToList();
            if (runs.Count == 0)
            {
                md.AppendLine(CultureInfo.InvariantCulture, $"| {label} | 0 | failed | | | |");
                continue;
            }

            double firstByte = Median(runs.Select(r => r.FirstByteMs)) ?? 0;
            double rss = Median(runs.Select(r => r.IdleRssKb / 1024.0)) ?? 0;
            md.AppendLine(Inv($"| {label} | {runs.Count} | {firstByte:F1} | {runs.Min(r => r.FirstByteMs):F1} | {runs.Max(r => r.FirstByteMs):F1} | {rss:F1} |"));
            dat.Add(Inv($"{label} {firstByte:F2} {rss:F2}"));
        }

        md.AppendLine();
        File.WriteAllLines(Path.Combine(charts, "startup.dat"), dat);
        WriteRaw(charts, "startup", """
            set multiplot layout 1,2 title "Start-up"
            set style data histograms
            set style fill solid 0.8 border -1
            set boxwidth 0.7
            set grid ytics
            set yrange [0:*]
            set title "exec to first byte (ms)"
            plot 'startup.dat' using 2:xtic(1) notitle
            set title "idle RSS (MB)"
            plot 'startup.dat' using 3:xtic(1) notitle
            unset multiplot
            """);
        md.AppendLine(CultureInfo.InvariantCulture, $"![start-up]({chartDir}/startup.png)");
        md.AppendLine();
    }

    private static void WriteChart(string charts, string name, string setup, IEnumerable<string> labels, Func<string, string> series) =>
        WriteRaw(charts, name, setup + "\nplot " + string.Join(", ", labels.Distinct().OrderBy(LabelOrder).Select(series)));

    private static void WriteRaw(string charts, string name, string body) =>
        File.WriteAllText(Path.Combine(charts, name + ".gp"),
            $"set terminal pngcairo size 900,540 font 'sans,10'\nset output '{name}.png'\n{body}\n");

    private static List<string> Labels(List<IdleReport> idle, List<FanoutReport> fanout, List<TickerReport> ticker, List<StartupReport> startup) =>
        [.. idle.Select(r => r.Label).Concat(fanout.Select(r => r.Label)).Concat(ticker.Select(r => r.Label)).Concat(startup.Select(r => r.Label)).Distinct().OrderBy(LabelOrder)];

    internal static void Row(StringBuilder md, List<string> labels, string name, Func<string, double?> value)
    {
        double? reference = labels.Contains(Reference) ? value(Reference) : null;
        md.Append(CultureInfo.InvariantCulture, $"| {name} |");
        foreach (var label in labels)
        {
            double? v = value(label);
            string cell = v is null ? "–" : Format(v.Value);
            if (v is not null && reference is > 0 && label != Reference)
            {
                cell += Inv($" (×{v.Value / reference.Value:F2})");
            }

            md.Append(CultureInfo.InvariantCulture, $" {cell} |");
        }

        md.AppendLine();
    }

    private static string Format(double v) => Math.Abs(v) >= 100 ? v.ToString("N0", CultureInfo.InvariantCulture) : v.ToString("0.##", CultureInfo.InvariantCulture);

    private static FanoutStep? BestStep(List<FanoutReport> fanout, string label) =>
        fanout.FirstOrDefault(r => r.Label == label)?.Steps.Where(s => s.Sustained).OrderByDescending(s => s.TargetRate).FirstOrDefault();

    private static FanoutStep? StepAt(List<FanoutReport> fanout, string label, double rate) =>
        fanout.FirstOrDefault(r => r.Label == label)?.Steps.FirstOrDefault(s => s.TargetRate == rate);

    private static double CommonSustainedRate(List<FanoutReport> fanout) =>
        fanout.Count == 0 ? 0 : fanout.Min(r => r.HighestSustainedRate);

    private static double? Median(IEnumerable<double> values)
    {
        var sorted = values.OrderBy(v => v).ToList();
        if (sorted.Count == 0)
        {
            return null;
        }

        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private static int LabelOrder(string label) => label switch { "rawsse" => 0, "go" => 1, "aspnet" => 2, "nginx" => 3, _ => 4 };

    internal static string Inv(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
