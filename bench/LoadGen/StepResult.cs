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
    public long[] FirstMicros { get; set; } = [];  // per event: the latency of its first delivery (0: nobody had it)
    public List<TargetResult> Targets { get; set; } = []; // per server port, in the order of --ports
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
            merged.CompletionMicros = Combine(merged.CompletionMicros, p.CompletionMicros, Math.Max);
            merged.FirstMicros = Combine(merged.FirstMicros, p.FirstMicros, (a, b) => a == 0 ? b : b == 0 ? a : Math.Min(a, b));
            for (int t = 0; t < p.Targets.Count; t++)
            {
                if (t == merged.Targets.Count)
                {
                    merged.Targets.Add(new TargetResult());
                }

                merged.Targets[t].Add(p.Targets[t]);
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

    /// <summary>Per-event figures of two shards, element by element (the longer array sets the length; a missing element is 0).</summary>
    private static long[] Combine(long[] a, long[] b, Func<long, long, long> pick)
    {
        var combined = new long[Math.Max(a.Length, b.Length)];
        for (int i = 0; i < combined.Length; i++)
        {
            combined[i] = pick(i < a.Length ? a[i] : 0, i < b.Length ? b[i] : 0);
        }

        return combined;
    }
}
