namespace RawSse.Store;

/// <summary>
/// One ordered log of events per hub: the contract every store implements (in memory, SQLite, and the NATS JetStream
/// and PostgreSQL stores to come), and that one contract test suite checks for each.
/// <para>
/// <b>Positions.</b> Every appended event gets a position: the log's <see cref="Epoch"/> and a sequence, strictly
/// increasing in log order, starting at 1, never reused. A log that keeps its events across restarts keeps its epoch;
/// a new log has a new one, so a position from another log never names one of this log's events.
/// </para>
/// <para>
/// <b>Appends</b> (<see cref="AppendAsync"/>) complete once the events are durable for this engine (committed for
/// SQLite, acknowledged for JetStream, simply stored in memory). Concurrent appends are serialised: the log decides
/// their order, and each gets positions after every append that completed before it began. An append that fails
/// throws <see cref="EventLogUnavailableException"/> and appended nothing.
/// </para>
/// <para>
/// <b>Visibility.</b> The log hands every committed event to its <see cref="IEventLogSink"/> exactly once, in log
/// order, with no gap: the hub applies (fans out) an event only once it is committed, so no subscriber ever sees an
/// event a crash could take back. A read (<see cref="ReadAfterAsync"/>) sees every event up to <see cref="Head"/> at
/// the moment it starts, and no event after a gap: an engine whose positions can become visible out of order
/// (PostgreSQL's bigserial under concurrent transactions) must serialise appends or read only up to the oldest
/// position still in flight.
/// </para>
/// <para>
/// <b>Retention</b> (<see cref="TrimAsync"/>) removes the oldest events by the limits of <see cref="LogRetention"/>.
/// What it removed is remembered as floors (overall, and per topic), so a read that would have included a removed
/// event says so (<see cref="LogRead.Complete"/> false) and the caller sends a reset instead of a silent gap.
/// </para>
/// </summary>
public interface IEventLog : IAsyncDisposable
{
    /// <summary>The log's identity: 8 characters of <c>[0-9a-z]</c>, fixed for the life of the log.</summary>
    string Epoch { get; }

    /// <summary>The position of the newest committed event; 0 when none was ever appended.</summary>
    long Head { get; }

    /// <summary>Where committed events go, in order; set once, before the first append.</summary>
    void Attach(IEventLogSink sink);

    /// <summary>Appends <paramref name="events"/> in order; returns the position of the first, once all are durable.</summary>
    /// <exception cref="EventLogUnavailableException">The store could not take them (disk full, locked, closed); nothing was appended.</exception>
    /// <exception cref="EventTooLargeException">An event is larger than the store takes (nothing of it was appended).</exception>
    ValueTask<long> AppendAsync(IReadOnlyList<NewEvent> events, CancellationToken cancellationToken = default);

    /// <summary>
    /// As <see cref="AppendAsync"/>, for a caller whose continuation never blocks (the server's own publishers): an
    /// engine may complete it on its own thread, so the caller's next append is queued before anything else runs.
    /// </summary>
    ValueTask<long> AppendInlineAsync(IReadOnlyList<NewEvent> events) => AppendAsync(events);

    /// <summary>
    /// The kept events after position <paramref name="after"/> that name any of <paramref name="topics"/> (null: every
    /// event), oldest first, at most <paramref name="max"/> of them. <see cref="LogRead.Complete"/> is false when an
    /// event after <paramref name="after"/> of those topics may have been trimmed.
    /// </summary>
    ValueTask<LogRead> ReadAfterAsync(long after, IReadOnlyCollection<string>? topics, int max, CancellationToken cancellationToken = default);

    /// <summary>The positions of the kept events whose publisher-given id is <paramref name="id"/>, newest first, at most two.</summary>
    ValueTask<IReadOnlyList<long>> FindIdAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>
    /// True once <paramref name="position"/> is at or below <see cref="Head"/>. A log other nodes append to may hold a
    /// position this node has not applied yet (a client resuming with an id another node gave it): such a log waits a
    /// little for its follower, and answers false for a position the store has not reached.
    /// </summary>
    ValueTask<bool> CatchUpAsync(long position, CancellationToken cancellationToken = default) => ValueTask.FromResult(position <= Head);

    /// <summary>Removes what the retention limits no longer allow; appends may go on meanwhile.</summary>
    ValueTask TrimAsync(CancellationToken cancellationToken = default);
}
