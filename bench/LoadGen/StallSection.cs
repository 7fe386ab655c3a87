using System.Globalization;
using System.Text;
using static LoadGen.ReportMode;

namespace LoadGen;

/// <summary>
/// The report's "Large event beside a small stream" part: a 100-byte stream's p99 alone and while 1 MiB events
/// are published back to back to another topic on the same server, and their ratio against the target.
/// </summary>
internal static class StallSection
{
    public const string Unloaded = "stall-unloaded";
    public const string Loaded = "stall-loaded";
    public const string BigCase = "stall-1mib";
    private const double TargetRatio = 2;

    private sealed record Pair(string Label, FanoutStep Alone, FanoutStep Beside, IngestReport? Big)
    {
        public double? Ratio => Alone.LatencyMs.P99 > 0 ? Beside.LatencyMs.P99 / Alone.LatencyMs.P99 : null;
    }

    public static void Headlines(StringBuilder md, List<FanoutReport> stall, List<IngestReport> ingest)
    {
        var pairs = Pairs(stall, ingest);
        if (pairs.Count > 0)
        {
            md.AppendLine("Large event beside a small stream, p99 of the 100-byte stream beside 1 MiB publishes ÷ alone (target ≤ 2): " +
                string.Join("; ", pairs.Select(p => Inv($"{p.Label} {p.Alone.LatencyMs.P99:F1} → {p.Beside.LatencyMs.P99:F1} ms, {RatioCell(p)}"))) + ".");
            md.AppendLine();
        }
    }

    public static void Write(StringBuilder md, List<FanoutReport> stall, List<IngestReport> ingest)
    {
        var pairs = Pairs(stall, ingest);
        if (pairs.Count == 0)
        {
            return;
        }

        var first = stall.First(r => r.Scenario == Unloaded);
        md.AppendLine("## Large event beside a small stream");
        md.AppendLine();
        md.AppendLine(Inv($"A fan-out of {first.Size}-byte events to {first.Subscribers:N0} subscribers on topic `small` at {pairs[0].Alone.TargetRate:N0} events/s for {first.DurationSeconds} s (after a warm-up), first alone, then on the same server while wrk publishes 1 MiB events back to back to topic `big` over one keep-alive connection and one subscriber reads `big` (wrk and that subscriber on CPU 1 with the fan-out's load generator, started a second before the fan-out and stopped after it). ") +
            "Fan-out must not wait for a publisher: the small stream's p99 beside the large events should stay within 2 × its figure alone. RawSse runs with `--max-body-bytes 2097152 --queue-bytes 8388608` so that one 1 MiB event fits a subscriber's queue; the peers take a 1 MiB form value as they are (Go's `ParseForm` reads up to 10 MB, Kestrel's form reader 4 MiB a value). " +
            "\"load % beside\" is the fan-out's load generator alone; wrk and the big subscriber share its core. \"other % alone\" is CPU used by neither the server nor the load while the stream ran alone: a high figure there means another job disturbed the unloaded figure the ratio divides by.");
        md.AppendLine();
        md.AppendLine("| server | p50 alone ms | p99 alone ms | p50 beside ms | p99 beside ms | p99.9 beside ms | p99 ratio (target ≤ 2) | lost / closed alone | lost / closed beside | 1 MiB publishes/s | 1 MiB publish p99 ms | MB/s to the big subscriber | big subscriber open at end | server CPU % beside | load % beside | other % alone |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---|---:|---:|---:|");
        foreach (var p in pairs)
        {
            var a = p.Alone;
            var b = p.Beside;
            string big = p.Big is { } g
                ? Inv($"{g.RequestsPerSecond:N1} | {g.LatencyP99Ms:F1} | {g.MegabytesPerSecond:N1} | {(g.OpenAtEnd == 1 ? "yes" : g.Connect?.Connected == 1 ? "no, closed" : "never connected")}")
                : "– | – | – | –";
            md.AppendLine(Inv($"| {p.Label} | {a.LatencyMs.P50:F2} | {a.LatencyMs.P99:F2} | {b.LatencyMs.P50:F2} | {b.LatencyMs.P99:F2} | {b.LatencyMs.P999:F2} | {RatioCell(p)} | {a.Lost:N0} / {a.Closed:N0} | {b.Lost:N0} / {b.Closed:N0} | {big} | {b.ServerCpuPercent:F0} | {b.LoadCpuPercent:F0} | {a.OtherCpuPercent:F0} |"));
        }

        md.AppendLine();
    }

    private static string RatioCell(Pair p) =>
        p.Ratio is { } r ? Inv($"×{r:F2} {(r <= TargetRatio ? "pass" : "miss")}") : "–";

    private static List<Pair> Pairs(List<FanoutReport> stall, List<IngestReport> ingest)
    {
        var pairs = new List<Pair>();
        foreach (var alone in stall.Where(r => r.Scenario == Unloaded))
        {
            var beside = stall.FirstOrDefault(r => r.Scenario == Loaded && r.Label == alone.Label);
            if (alone.Steps.FirstOrDefault() is { } a && beside?.Steps.FirstOrDefault() is { } b)
            {
                pairs.Add(new Pair(alone.Label, a, b, ingest.FirstOrDefault(r => r.Case == BigCase && r.Label == alone.Label)));
            }
        }

        return pairs;
    }
}
