using System.Globalization;
using System.Text;
using static LoadGen.ReportMode;

namespace LoadGen;

/// <summary>
/// The report's "Ingestion" part: publishes/s per server for each number of subscribers on the topic, and the
/// ratios the targets are set in, every figure from the same run.
/// </summary>
internal static class IngestSection
{
    public const string PublishCase = "publish";
    public const string StaticCase = "static-1k";
    private const string StaticLabel = "rawsse " + StaticCase;

    // The issue's targets: in-memory publishes/s at least 1.3 x the Go peer's and 0.9 x RawSse's own static 1 KiB
    // request rate; SQLite within 2 x of in-memory. "In-memory" is held to both RawSse without a store and --store memory.
    private static readonly (string Numerator, string Denominator, double? Target)[] s_ratios =
    [
        ("rawsse", "go", 1.3),
        ("rawsse-memory", "go", 1.3),
        ("rawsse", StaticLabel, 0.9),
        ("rawsse-memory", StaticLabel, 0.9),
        ("rawsse-sqlite", "rawsse-memory", 0.5),
        ("rawsse", "aspnet", null),
        ("rawsse", "rawsse-before", null),
    ];

    public static void Headlines(StringBuilder md, List<IngestReport> ingest)
    {
        var labels = Labels(ingest);
        if (labels.Count == 0)
        {
            return;
        }

        md.AppendLine("| ingestion (publishes/s, wrk 16 connections) | " + string.Join(" | ", labels) + " |");
        md.AppendLine("|---|" + string.Concat(labels.Select(_ => "---|")));
        foreach (int n in Counts(ingest))
        {
            Row(md, labels, Subscribers(n), l => Find(ingest, l, n)?.RequestsPerSecond);
        }

        if (Static(ingest) is { } s)
        {
            Row(md, labels, "RawSse's static 1 KiB file, same wrk settings (requests/s)", l => l == "rawsse" ? s.RequestsPerSecond : null);
        }

        md.AppendLine();
        int first = Counts(ingest).FirstOrDefault();
        var marks = s_ratios.Where(r => r.Target is not null)
            .Select(r => (r, ratio: Ratio(ingest, r.Numerator, r.Denominator, first)))
            .Where(x => x.ratio is not null)
            .Select(x => Inv($"{x.r.Numerator} ÷ {x.r.Denominator} {x.ratio:F2} (target ≥ {x.r.Target}: {Mark(x.ratio!.Value, x.r.Target!.Value)})"))
            .ToList();
        if (marks.Count > 0)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"Ingestion targets at {Subscribers(first)}, this run: {string.Join("; ", marks)}.");
            md.AppendLine();
        }
    }

    public static IEnumerable<string> Problems(List<IngestReport> ingest) =>
        ingest.Where(r => !r.Ok).Select(r => Inv(
            $"ingest, {r.Label} {r.Case} with {Subscribers(r.Subscribers)}: wrk exit code {r.WrkExitCode}, {r.Requests:N0} requests, {r.Non2xx:N0} non-2xx, {r.SocketErrors:N0} socket errors; {r.Connect}"))
        .Concat(Cut(ingest).Select(r => "ingest, " + CutNote(r) + " closed before the end (cut by the server as slow, or failed)"));

    public static void Write(StringBuilder md, List<IngestReport> ingest)
    {
        var labels = Labels(ingest);
        if (labels.Count == 0)
        {
            return;
        }

        var sample = ingest.First(r => r.Case == PublishCase);
        md.AppendLine("## Ingestion");
        md.AppendLine();
        md.AppendLine(Inv($"wrk publishing 100-byte events over keep-alive `POST /publish` (`{sample.Command}`) while {string.Join(", ", Counts(ingest).Select(n => n.ToString("N0", CultureInfo.InvariantCulture)))} subscribers read the topic. ") +
            Inv($"Every case runs on a fresh server, after {sample.WarmupSeconds} s of warm-up with the same wrk command and the subscribers already connected: ") +
            "a .NET server pinned to one CPU sees ProcessorCount 1, so the runtime multiplies its tiering delay by 10 and the publish path reaches tier-1 code only after about 10 s of load (measured on the default ReadyToRun build: 80-89k publishes/s after 3 s of warm-up, 102-110k after 15 s). " +
            "The subscribers are load generator sockets on CPU 1, beside wrk: they read everything, and a server may cut one that falls behind (RawSse's `--slow-consumer disconnect`) — counted as closed, not hidden. " +
            "The Go and Kestrel peers skip events for a slow subscriber and keep it open. \"MB/s delivered\" is what the subscribers read per second of the run, framing included; \"load %\" is wrk and the subscribers together on their one core; \"other %\" is CPU used by neither the server nor the load: a run with a high figure there was disturbed by another job on the machine.");
        md.AppendLine();
        foreach (int n in Counts(ingest))
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"### {Subscribers(n)}");
            md.AppendLine();
            md.AppendLine("| server | publishes/s | p50 ms | p99 ms | server CPU % | publishes/CPU-s | server RSS MB | subscribers open / connected | closed (warm-up + run) | MB/s delivered | load % | other % | errors |");
            md.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
            foreach (var label in labels)
            {
                if (Find(ingest, label, n) is { } r)
                {
                    md.AppendLine(Line(r));
                }
            }

            md.AppendLine();
        }

        if (Static(ingest) is { } s)
        {
            md.AppendLine(Inv($"RawSse's 1 KiB static file with the same wrk settings and warm-up (`{s.Command}`), on a fresh server:"));
            md.AppendLine();
            md.AppendLine("| server | requests/s | p50 ms | p99 ms | server CPU % | requests/CPU-s | server RSS MB | load % | other % | errors |");
            md.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
            md.AppendLine(Inv($"| {s.Label} {s.Case} | {s.RequestsPerSecond:N0} | {s.LatencyP50Ms:F2} | {s.LatencyP99Ms:F2} | {s.ServerCpuPercent:F0} | {s.RequestsPerServerCpuSecond:N0} | {s.ServerRssMb:F0} | {s.LoadCpuPercent:F0} | {s.OtherCpuPercent:F0} | {s.Non2xx + s.SocketErrors} |"));
            md.AppendLine();
        }

        var counts = Counts(ingest);
        md.AppendLine("Ratios of publishes/s in this run (\"rawsse static-1k\" is the requests/s of the table above). The issue's targets: in-memory publishes/s ≥ 1.3 × the Go peer's and ≥ 0.9 × RawSse's own static 1 KiB rate, held here to RawSse without a store and with `--store memory`; SQLite within 2 × of in-memory (≥ 0.5). The publish path alone is the 0-subscriber case; the others add its fan-out.");
        md.AppendLine();
        md.AppendLine("| ratio | target | " + string.Join(" | ", counts.Select(Subscribers)) + " |");
        md.AppendLine("|---|---|" + string.Concat(counts.Select(_ => "---|")));
        foreach (var (numerator, denominator, target) in s_ratios)
        {
            var cells = counts.Select(n => Ratio(ingest, numerator, denominator, n)).ToList();
            if (cells.All(c => c is null))
            {
                continue;
            }

            md.AppendLine(Inv($"| {numerator} ÷ {denominator} | {(target is { } t ? Inv($"≥ {t}") : "–")} | ") +
                string.Join(" | ", cells.Select(c => c is not { } v ? "–" : target is { } t ? Inv($"{v:F2} {Mark(v, t)}") : Inv($"{v:F2}"))) + " |");
        }

        md.AppendLine();
        var cut = Cut(ingest).ToList();
        if (cut.Count > 0)
        {
            md.AppendLine("Subscribers closed before the end: " + string.Join("; ", cut.Select(CutNote)) + ".");
            md.AppendLine();
        }
    }

    private static IEnumerable<IngestReport> Cut(List<IngestReport> ingest) =>
        ingest.Where(r => r.Case == PublishCase && r.Connect is not null && r.OpenAtEnd < r.Connect.Connected);

    private static string CutNote(IngestReport r) => Inv(
        $"{r.Label} with {Subscribers(r.Subscribers)}: {r.Connect!.Connected - r.OpenAtEnd:N0} of {r.Connect.Connected:N0} ({r.ClosedInWarmup:N0} in the warm-up, {r.ClosedInRun:N0} in the run)");

    private static string Line(IngestReport r) => Inv(
        $"| {r.Label} | {r.RequestsPerSecond:N0} | {r.LatencyP50Ms:F2} | {r.LatencyP99Ms:F2} | {r.ServerCpuPercent:F0} | {r.RequestsPerServerCpuSecond:N0} | {r.ServerRssMb:F0} | {r.OpenAtEnd:N0} / {r.Connect?.Connected ?? 0:N0} | {r.ClosedInWarmup:N0} + {r.ClosedInRun:N0} | {r.MegabytesPerSecond:F1} | {r.LoadCpuPercent:F0} | {r.OtherCpuPercent:F0} | {r.Non2xx + r.SocketErrors} |");

    private static double? Ratio(List<IngestReport> ingest, string numerator, string denominator, int subscribers)
    {
        double? Value(string label) => label == StaticLabel ? Static(ingest)?.RequestsPerSecond : Find(ingest, label, subscribers)?.RequestsPerSecond;
        double a = Value(numerator) ?? 0, b = Value(denominator) ?? 0;
        return a > 0 && b > 0 ? a / b : null;
    }

    private static string Mark(double ratio, double target) => ratio >= target ? "pass" : "miss";

    private static IngestReport? Find(List<IngestReport> ingest, string label, int subscribers) =>
        ingest.FirstOrDefault(r => r.Case == PublishCase && r.Label == label && r.Subscribers == subscribers);

    private static IngestReport? Static(List<IngestReport> ingest) =>
        ingest.FirstOrDefault(r => r.Case == StaticCase && r.Label == "rawsse");

    // Servers in run order (RawSse, its stores, then the peers, as run.sh runs them).
    private static List<string> Labels(List<IngestReport> ingest) => [.. ingest.Where(r => r.Case == PublishCase).Select(r => r.Label).Distinct()];

    private static List<int> Counts(List<IngestReport> ingest) => [.. ingest.Where(r => r.Case == PublishCase).Select(r => r.Subscribers).Distinct().Order()];

    private static string Subscribers(int n) => n == 1 ? "1 subscriber" : Inv($"{n:N0} subscribers");
}
