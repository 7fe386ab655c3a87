namespace LoadGen;

/// <summary>When the first and the last subscriber received one tick (Stopwatch timestamps: CLOCK_MONOTONIC, shared by every process).</summary>
internal sealed class TickSpan
{
    public long Id { get; set; }
    public long First { get; set; }
    public long Last { get; set; }
    public long Count { get; set; }
}
