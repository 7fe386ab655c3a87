using System.Diagnostics;
using System.Net.Sockets;

namespace LoadGen;

/// <summary>
/// The subscribers held by one process, and the step protocol over them: begin a step at a sequence number,
/// end it at the last sequence published (waiting a bounded time for stragglers), and report what arrived.
/// </summary>
internal sealed class SubscriberGroup : IAsyncDisposable
{
    private readonly GroupOptions _options;
    private readonly byte[] _request;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<SseSubscriber> _subscribers = [];
    private readonly List<Task> _loops = [];
    private readonly Dictionary<string, int> _connectErrors = []; // guarded by itself
    private SseSubscriber[] _participants = [];
    private StepStats _step;
    private int _stepId;
    private double _cpuAtStepStart;
    private TimeSpan _gcPauseAtStepStart;
    private int _gcCountAtStepStart;

    public SubscriberGroup(GroupOptions options)
    {
        _options = options;
        _request = options.Request();
        _step = new StepStats(_stepId, firstSequence: long.MaxValue, capacity: 0, TickPeriodTicks(options), options.Targets);
    }

    public StepStats CurrentStep => Volatile.Read(ref _step);

    /// <summary>Opens <paramref name="count"/> more streams, numbered from <paramref name="firstIndex"/> over every shard (it picks the source address).</summary>
    public async Task<ConnectSummary> AddAsync(int count, int firstIndex)
    {
        var started = Stopwatch.GetTimestamp();
        var summary = new ConnectSummary { Requested = count };
        using var gate = new SemaphoreSlim(_options.ConnectConcurrency);
        var waits = new List<Task>(count);
        lock (_connectErrors)
        {
            _connectErrors.Clear();
        }

        for (int i = 0; i < count; i++)
        {
            await gate.WaitAsync(_stop.Token).ConfigureAwait(false);
            SseSubscriber subscriber;
            try
            {
                subscriber = new SseSubscriber(this, _options.SourceFor(firstIndex + i), _options.BufferBytes, _options.TargetOf(firstIndex + i));
            }
            catch (SocketException ex)
            {
                gate.Release();
                NoteConnectError(ex);
                continue;
            }

            _subscribers.Add(subscriber);
            _loops.Add(subscriber.RunAsync(_options.ServerFor(subscriber.Target), _request, _stop.Token));
            waits.Add(WaitReadyAsync(subscriber, gate, summary));
        }

        await Task.WhenAll(waits).ConfigureAwait(false);
        lock (_connectErrors)
        {
            foreach (var (reason, n) in _connectErrors)
            {
                summary.Failures[reason] = summary.Failures.GetValueOrDefault(reason) + n;
            }
        }

        summary.Failed = count - summary.Connected;
        summary.Seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        return summary;
    }

    private async Task WaitReadyAsync(SseSubscriber subscriber, SemaphoreSlim gate, ConnectSummary summary)
    {
        try
        {
            var ready = await subscriber.Ready.WaitAsync(TimeSpan.FromMilliseconds(_options.ConnectTimeoutMs)).ConfigureAwait(false);
            lock (summary)
            {
                if (ready == 200)
                {
                    summary.Connected++;
                }
                else if (ready != 0)
                {
                    summary.Failures[$"status {ready}"] = summary.Failures.GetValueOrDefault($"status {ready}") + 1;
                }
            }
        }
        catch (TimeoutException)
        {
            lock (summary)
            {
                summary.Failures["timeout"] = summary.Failures.GetValueOrDefault("timeout") + 1;
            }

            subscriber.Close();
        }
        finally
        {
            gate.Release();
        }
    }

    public void NoteConnectError(Exception ex)
    {
        string reason = ex is SocketException se ? se.SocketErrorCode.ToString() : ex.GetType().Name;
        lock (_connectErrors)
        {
            _connectErrors[reason] = _connectErrors.GetValueOrDefault(reason) + 1;
        }
    }

    public void BeginStep(long firstSequence, int capacity)
    {
        _participants = [.. _subscribers.Where(s => !s.Closed)];
        _cpuAtStepStart = ProcStats.Self().CpuSeconds;
        _gcPauseAtStepStart = GC.GetTotalPauseDuration();
        _gcCountAtStepStart = GC.CollectionCount(0);
        var step = new StepStats(++_stepId, firstSequence, capacity, TickPeriodTicks(_options), _options.Targets);
        Volatile.Write(ref _step, step);
    }

    /// <summary>
    /// Waits until every open subscriber has event <paramref name="lastSequence"/> (at most <paramref name="graceMs"/>),
    /// then counts what each received. A <paramref name="lastSequence"/> below the step's first means no events.
    /// </summary>
    public async Task<StepResult> EndStepAsync(long lastSequence, int graceMs)
    {
        var step = CurrentStep;
        long events = Math.Max(0, lastSequence - step.FirstSequence + 1);
        var deadline = Stopwatch.GetTimestamp() + graceMs * Stopwatch.Frequency / 1000;
        bool drained = events == 0 || AllHave(step, lastSequence);
        while (!drained && Stopwatch.GetTimestamp() < deadline)
        {
            await Task.Delay(10).ConfigureAwait(false);
            drained = AllHave(step, lastSequence);
        }

        var result = new StepResult { Subscribers = _participants.Length, EventsPublished = events, Drained = drained };
        var targets = Enumerable.Range(0, _options.Targets).Select(t => new TargetResult { Latency = step.LatencyOf(t).ToData() }).ToList();
        foreach (var s in _participants)
        {
            var target = targets[s.Target];
            target.Subscribers++;
            if (s.Closed)
            {
                result.ClosedDuringStep++;
                target.Closed++;
            }

            if (Volatile.Read(ref s.StepId) != step.Id)
            {
                result.Missing += events;
                target.Missing += events;
                continue;
            }

            long missing = s.Missing + Math.Max(0, lastSequence - s.Next + 1);
            result.Received += s.Received;
            result.Missing += missing;
            target.Received += s.Received;
            target.Missing += missing;
            result.Duplicates += s.Duplicates;
            result.OutOfOrder += s.OutOfOrder;
            result.Stale += s.Stale;
        }

        foreach (var s in _subscribers)
        {
            result.BytesReceived += s.BytesReceived;
        }

        var self = ProcStats.Self();
        result.Expected = events * _participants.Length;
        result.Latency = step.Latency.ToData();
        result.CompletionMicros = step.CompletionMicros(events);
        result.FirstMicros = step.FirstMicros(events);
        result.Targets = targets;
        result.TickIntervals = step.TickIntervals.ToData();
        result.TickJitter = step.TickJitter.ToData();
        result.TicksMissed = step.TickMisses;
        result.Ticks = step.Ticks();
        result.CpuSeconds = self.CpuSeconds - _cpuAtStepStart;
        result.RssKb = self.RssKb;
        result.GcPauseMs = Math.Round((GC.GetTotalPauseDuration() - _gcPauseAtStepStart).TotalMilliseconds, 1);
        result.GcCount = GC.CollectionCount(0) - _gcCountAtStepStart;
        return result;
    }

    private bool AllHave(StepStats step, long lastSequence)
    {
        foreach (var s in _participants)
        {
            if (!s.Closed && (Volatile.Read(ref s.StepId) != step.Id || Volatile.Read(ref s.Next) <= lastSequence))
            {
                return false;
            }
        }

        return true;
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        foreach (var s in _subscribers)
        {
            s.Close();
        }

        await Task.WhenAll(_loops).WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stop.Dispose();
    }

    private static long TickPeriodTicks(GroupOptions options) => options.TickPeriodMs * Stopwatch.Frequency / 1000;
}
