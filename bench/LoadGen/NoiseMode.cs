using System.Diagnostics;

namespace LoadGen;

/// <summary>
/// <c>noise</c>: spins on the current CPU for a while and records every gap in its own progress longer than
/// 1 ms. On a quiet machine there are next to none; a virtual machine whose host takes its CPUs away shows
/// gaps of tens of milliseconds, and then every latency figure of the run carries them too.
/// </summary>
internal static class NoiseMode
{
    public static int Run(Args args)
    {
        string label = args.Get("--label", "cpu");
        double seconds = args.GetDouble("--duration", 3);
        args.RejectUnknown();

        var gaps = new Histogram();
        long threshold = Stopwatch.Frequency / 1000;
        long end = Stopwatch.GetTimestamp() + (long)(seconds * Stopwatch.Frequency);
        long previous = Stopwatch.GetTimestamp();
        long stalled = 0;
        while (previous < end)
        {
            long now = Stopwatch.GetTimestamp();
            if (now - previous > threshold)
            {
                gaps.Record(StepStats.ToMicros(now - previous));
                stalled += now - previous;
            }

            previous = now;
        }

        var report = new NoiseReport
        {
            Label = label,
            Seconds = seconds,
            GapsOver1Ms = gaps.Count,
            GapsOver10Ms = gaps.CountAbove(10_000),
            MaxGapMs = Math.Round(gaps.Max / 1000.0, 2),
            StalledPercent = Math.Round(100.0 * stalled / (seconds * Stopwatch.Frequency), 2),
        };
        Console.WriteLine($"[{label}] noise: {report.GapsOver1Ms} gaps > 1 ms ({report.GapsOver10Ms} > 10 ms), longest {report.MaxGapMs:F1} ms, {report.StalledPercent:F2} % of {seconds} s lost");
        Console.WriteLine(Json.Write(report));
        return 0;
    }
}
