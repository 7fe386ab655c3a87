namespace RawSse.Sse;

/// <summary>
/// A subscriber's writer, as its lock sees it: whether a writer is due or running (at most one is), whether the
/// stream is completing (end once drained) or closed (send nothing more), and the signal for whoever waits for the
/// writer to exit, made only when someone does. A mutable struct: keep it in a field, never copy it; guarded by its
/// subscriber's lock.
/// </summary>
internal struct WriterState
{
    private TaskCompletionSource? _exited;

    public bool Writing { get; private set; }
    public bool Completing { get; set; }
    public bool Closed { get; set; }

    /// <summary>Nothing more may be queued: the stream is closed or ending.</summary>
    public readonly bool Refuses => Closed || Completing;

    /// <summary>True when the caller has just made the writer due (and must run it, once, outside the lock).</summary>
    public bool TryMakeDue()
    {
        if (Writing)
        {
            return false;
        }

        Writing = true;
        return true;
    }

    public void Exited()
    {
        Writing = false;
        _exited?.TrySetResult();
    }

    /// <summary>Completes once no writer runs (at once when none does).</summary>
    public Task WhenExited()
    {
        _exited ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!Writing)
        {
            _exited.TrySetResult();
        }

        return _exited.Task;
    }
}
