namespace LoadGen;

/// <summary>One step's figures from one process, or merged over every shard. Travels as JSON between processes.</summary>
internal sealed class StepResult
{
    public int Subscribers { get; set; }          // taking part: open when the step began
    public int ClosedDuringStep { get; set; }
    public long EventsPublished { get; set; }
    public long Expected { get; set; }             // deliveries expected: events x subscribers taking part
    public long Received { get; set; }
    public long Missing { get; set; }
    public long Duplicates { get; set; }
    public long OutOfOrder { get; set; }
    public long Stale { get; set; }                // events of an earlier step that arrived in this one
    public bool Drained { get; set; }              // every subscriber had the last event before the grace period ran out
    public HistogramData? Latency { get; set; }
    public long[] CompletionMicros { get; set; } = [];
    public HistogramData? TickIntervals { get; set; }
    public HistogramData? TickJitter { get; set; }
    public long TicksMissed { get; set; }
    public List<TickSpan> Ticks { get; set; } = [];
    public double CpuSeconds { get; set; }         // of the load generator's process(es)
    public long RssKb { get; set; }
    public long BytesReceived { get; set; }
    public double GcPauseMs { get; set; }          // of the load generator's process(es)
    public int GcCount { get; set; }

    public static StepResult Merge(IReadOnlyList<StepResult> parts)
    {
        var merged = new StepResult { Drained = true };
        var latency = new Histogram();
        var intervals = new Histogram();
        var jitter = new Histogram();
        var ticks = new Dictionary<long, TickSpan>();
        foreach (var p in parts)
        {
            merged.Subscribers += p.Subscribers;
            merged.ClosedDuringStep += p.ClosedDuringStep;
            merged.EventsPublished = Math.Max(merged.EventsPublished, p.EventsPublished);
            merged.Expected += p.Expected;
            merged.Received += p.Received;
            merged.Missing += p.Missing;
            merged.Duplicates += p.Duplicates;
            merged.OutOfOrder += p.OutOfOrder;
            merged.Stale += p.Stale;
            merged.Drained &= p.Drained;
            merged.TicksMissed += p.TicksMissed;
            merged.CpuSeconds += p.CpuSeconds;
            merged.RssKb += p.RssKb;
            merged.BytesReceived += p.BytesReceived;
            merged.GcPauseMs += p.GcPauseMs;
            merged.GcCount += p.GcCount;
            latency.Add(Histogram.FromData(p.Latency));
            intervals.Add(Histogram.FromData(p.TickIntervals));
            jitter.Add(Histogram.FromData(p.TickJitter));
            if (p.CompletionMicros.Length > merged.CompletionMicros.Length)
            {
                var grown = new long[p.CompletionMicros.Length];
                merged.CompletionMicros.CopyTo(grown, 0);
                merged.CompletionMicros = grown;
            }

            for (int i = 0; i < p.CompletionMicros.Length; i++)
            {
                merged.CompletionMicros[i] = Math.Max(merged.CompletionMicros[i], p.CompletionMicros[i]);
            }

            foreach (var t in p.Ticks)
            {
                if (ticks.TryGetValue(t.Id, out var have))
                {
                    have.First = Math.Min(have.First, t.First);
                    have.Last = Math.Max(have.Last, t.Last);
                    have.Count += t.Count;
                }
                else
                {
                    ticks[t.Id] = new TickSpan { Id = t.Id, First = t.First, Last = t.Last, Count = t.Count };
                }
            }
        }

        merged.Latency = latency.ToData();
        merged.TickIntervals = intervals.ToData();
        merged.TickJitter = jitter.ToData();
        merged.Ticks = [.. ticks.Values.OrderBy(t => t.Id)];
        return merged;
    }
}
