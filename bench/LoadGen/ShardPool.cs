namespace LoadGen;

/// <summary>
/// Every subscriber of a run: up to <c>perProcess</c> in this process, the rest in child processes of at most
/// as many each, so no process nears the open-files limit. Steps begin and end on all of them together.
/// </summary>
internal sealed class ShardPool(GroupOptions options, int perProcess) : IAsyncDisposable
{
    private readonly SubscriberGroup _local = new(options);
    private readonly List<ChildShard> _children = [];
    private int _localCount;
    private int _total;

    public int Total => _total;
    public int Processes => 1 + _children.Count;

    public async Task<ConnectSummary> AddAsync(int count)
    {
        var summary = new ConnectSummary();
        var work = new List<Task<ConnectSummary>>();
        int localTake = Math.Min(count, perProcess - _localCount);
        if (localTake > 0)
        {
            work.Add(_local.AddAsync(localTake, _total));
            _localCount += localTake;
            _total += localTake;
            count -= localTake;
        }

        while (count > 0)
        {
            var child = _children.LastOrDefault();
            if (child is null || child.Count >= perProcess)
            {
                child = new ChildShard(options);
                _children.Add(child);
            }

            int take = Math.Min(count, perProcess - child.Count);
            work.Add(child.AddAsync(take, _total));
            _total += take;
            count -= take;
        }

        foreach (var part in await Task.WhenAll(work).ConfigureAwait(false))
        {
            summary.Add(part);
        }

        return summary;
    }

    public Task BeginStepAsync(long firstSequence, int capacity)
    {
        _local.BeginStep(firstSequence, capacity);
        return Task.WhenAll(_children.Select(c => c.BeginStepAsync(firstSequence, capacity)));
    }

    public async Task<StepResult> EndStepAsync(long lastSequence, int graceMs)
    {
        var parts = new List<Task<StepResult>> { _local.EndStepAsync(lastSequence, graceMs) };
        parts.AddRange(_children.Select(c => c.EndStepAsync(lastSequence, graceMs)));
        return StepResult.Merge(await Task.WhenAll(parts).ConfigureAwait(false));
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var child in _children)
        {
            await child.DisposeAsync().ConfigureAwait(false);
        }

        await _local.DisposeAsync().ConfigureAwait(false);
    }
}
