namespace RawSse.Store;

/// <summary>What a log hands its committed events to (the hub): each exactly once, in log order.</summary>
public interface IEventLogSink
{
    /// <summary>Takes a committed event (the hub queues it for its subscribers).</summary>
    void Apply(LoggedEvent logged);

    /// <summary>
    /// Called after a batch of <see cref="Apply"/> calls, once the appends that made them have completed: the sink
    /// may now start the work they queued (the hub sends), behind the appenders' continuations.
    /// </summary>
    void Release();

    /// <summary>
    /// Positions after <paramref name="after"/> through <paramref name="through"/> that the log will never hand over,
    /// before the next <see cref="Apply"/>: a shared log's follower found them trimmed before it read them (this node
    /// lagged past the store's retention). Their events are gone for this node's live subscribers.
    /// </summary>
    void Lost(long after, long through)
    {
    }
}
