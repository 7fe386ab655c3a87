using System.Diagnostics;
using RawSse.Store;

namespace RawSse.Sse;

/// <summary>
/// Topics, their subscribers and their replay rings. A published event is validated and encoded once,
/// under one lock that also orders the hub's sequence numbers, and the same bytes are queued for every
/// subscriber of its topics and kept in each topic's ring. Queueing never blocks: a subscriber that cannot
/// keep up is handled by its own queue's policy, never by the publisher. The sending happens off the
/// publisher's thread: the subscribers an event made due are handed to the thread pool in chunks, and each
/// chunk sends to its subscribers one after the other (see <see cref="DueWriters"/>). Nothing here closes a
/// connection: a subscriber cut for falling behind is told so after the lock is released, and its connection closes it.
/// </summary>
public sealed class Hub : IEventLogSink
{
    /// <summary>The topic a stream joins when it names none; the ticker publishes to it.</summary>
    public const string DefaultTopic = "default";

    /// <summary>The longest topic name accepted.</summary>
    public const int MaxTopicLength = 256;

    /// <summary>The most topics one publish may name (as many as one stream may subscribe to).</summary>
    public const int MaxTopicsPerEvent = 32;

    /// <summary>The name of the server's own control event (a resume that cannot be served); nobody may publish it.</summary>
    public const string ResetType = "reset";

    private readonly Lock _lock = new();
    private readonly TopicTable _topics;                                             // guarded by _lock
    private readonly Resumes _resumes;                                                // guarded by _lock
    private readonly SelectorTable _selectors;                                        // guarded by _lock
    private readonly EventIds _ids;
    private readonly IEventLog? _log;

    private long _sequence;                                                           // guarded by _lock
    private int _subscriberCount;                                                     // guarded by _lock
    private string? _lastOwnId;                                                       // guarded by _lock: the newest event's own id, or null for the hub's
    private long _ephemeral;                                                          // guarded by _lock
    private DueWriters _applied = DueWriters.Held();                                  // guarded by _lock: due from applied log events

    /// <summary>
    /// A hub is normally made by its <see cref="Server"/>. An embedding program may make its own and hand it to
    /// successive servers (a restarted listener), so replay and ids carry on across them.
    /// </summary>
    /// <param name="replayCapacity">Events each topic keeps for Last-Event-ID resumes; 0 keeps none.</param>
    public Hub(int replayCapacity = 1000)
        : this(HubLimits.Default with { ReplayCount = replayCapacity })
    {
    }

    /// <summary>
    /// A hub in front of an event log (see <see cref="IEventLog"/>): its ids carry the log's epoch, publishing appends to
    /// the log and fans out what the log commits, in log order, and the rings become a cache in front of the log (a
    /// resume they cannot serve reads the log). Without a log the rings are the whole history.
    /// </summary>
    /// <exception cref="ArgumentException">A limit out of its range.</exception>
    public Hub(HubLimits limits, IEventLog? log = null)
    {
        ArgumentNullException.ThrowIfNull(limits);
        limits.Validate();
        Limits = limits;
        _log = log;
        _ids = log is null ? new EventIds() : new EventIds(log.Epoch);
        _topics = new TopicTable(limits);
        _resumes = new Resumes(_topics, _ids);
        _selectors = new SelectorTable(limits.MaxSelectors);
        if (log is not null)
        {
            // The rings start empty: everything the log already holds is, for them, forgotten, and comes from the log.
            _sequence = log.Head;
            _topics.Forget(log.Head);
            log.Attach(this);
        }
    }

    /// <summary>The log behind the hub, or null when the rings are the whole history.</summary>
    public IEventLog? Log => _log;

    public HubLimits Limits { get; }

    /// <summary>The epoch of this hub's ids (<c>&lt;epoch&gt;-&lt;sequence&gt;</c>), new for every hub.</summary>
    public string Epoch => _ids.Epoch;

    /// <summary>The digits the next assigned position is likely to have (an id slot is encoded for it; see <see cref="PreparedFrame"/>).</summary>
    internal int NextIdDigits => SseFrames.DigitsOf(Volatile.Read(ref _sequence) + 1);

    /// <summary>Topics live now: subscribed to, or keeping events.</summary>
    public int TopicCount
    {
        get { lock (_lock) { return _topics.Count; } }
    }

    /// <summary>Bytes kept for resumes across topics (each event charged its frame plus a small overhead).</summary>
    public long ReplayBytes
    {
        get { lock (_lock) { return _topics.KeptBytes; } }
    }

    internal HubCounters Counters { get; } = new();

    /// <summary>
    /// Mercure's active subscriptions: each subscriber gets an id (<c>urn:uuid:</c>), and each of its selectors a
    /// private update to <see cref="ActiveSubscription.Topic"/> when it joins and when it leaves. These updates go to
    /// live subscribers only; they are not kept for resumes.
    /// </summary>
    public bool PublishesSubscriptions { get; set; }

    /// <summary>The id of the newest event, or Mercure's <c>earliest</c> when there is none yet.</summary>
    public string LastEventId
    {
        get { lock (_lock) { return _lastOwnId ?? (_sequence > 0 ? _ids.Format(_sequence) : Resumes.Earliest); } }
    }

    /// <summary>Every selector of every live subscriber (when <see cref="PublishesSubscriptions"/>), in no particular order.</summary>
    internal List<ActiveSubscription> ActiveSubscriptions()
    {
        var seen = new HashSet<Subscriber>();
        var found = new List<ActiveSubscription>();
        lock (_lock)
        {
            foreach (var subscriber in _topics.All.SelectMany(t => t.Subscribers).Concat(_selectors.Subscribed.SelectMany(g => g.Subscribers)))
            {
                if (subscriber.SubscriptionId is not null && seen.Add(subscriber))
                {
                    found.AddRange(subscriber.Subscriptions(active: true));
                }
            }
        }

        return found;
    }

    /// <summary>Streams currently subscribed.</summary>
    public int SubscriberCount
    {
        get { lock (_lock) { return _subscriberCount; } }
    }

    /// <summary>Streams currently subscribed to <paramref name="topic"/>.</summary>
    public int CountSubscribers(string topic)
    {
        lock (_lock)
        {
            return _topics.TryGet(topic, out var t) ? t.Subscribers.Count : 0;
        }
    }

    /// <summary>True when <paramref name="topic"/> can name a topic: 1 to 256 characters, no control characters (C0, DEL or C1).</summary>
    public static bool IsValidTopic(string? topic) =>
        !string.IsNullOrEmpty(topic) && topic.Length <= MaxTopicLength && !topic.AsSpan().ContainsAnyInRange('\0', '\u001f') && !topic.AsSpan().ContainsAnyInRange('\u007f', '\u009f');

    /// <summary>Publishes <paramref name="ev"/> to one topic. Returns the event's id (assigned when it had none).</summary>
    public string Publish(string topic, SseEvent ev) => Publish([topic], ev);

    /// <summary>
    /// Publishes <paramref name="ev"/> to every subscriber of any of <paramref name="topics"/>; a subscriber of
    /// several of them receives it once. Returns the event's id: its own, or the hub's next <c>&lt;epoch&gt;-&lt;sequence&gt;</c>.
    /// </summary>
    /// <exception cref="ArgumentException">No topic, more than <see cref="MaxTopicsPerEvent"/>, a topic that
    /// <see cref="IsValidTopic"/> refuses, or the <see cref="ResetType"/>.</exception>
    /// <exception cref="TopicLimitException">The event would make more live topics than <see cref="HubLimits.MaxTopics"/>.</exception>
    public string Publish(IReadOnlyList<string> topics, SseEvent ev) => Publish(topics, ev, isPrivate: false);

    /// <summary>
    /// As <see cref="Publish(IReadOnlyList{string}, SseEvent)"/>; a private update (<paramref name="isPrivate"/>) reaches
    /// only subscribers whose token's <c>mercure.subscribe</c> claim matches one of its topics, live and in replays.
    /// </summary>
    public string Publish(IReadOnlyList<string> topics, SseEvent ev, bool isPrivate)
    {
        Validate(topics, ev);
        // With a log, the in-process API waits for the commit like any publisher (see PublishAsync).
        return _log is null ? PublishCore(topics, ev, isPrivate) : PublishAsync(topics, ev, isPrivate).AsTask().GetAwaiter().GetResult();
    }

    /// <summary>
    /// As <see cref="Publish(IReadOnlyList{string}, SseEvent, bool)"/>, and with a log: the event is appended, and the
    /// id comes back once the log has committed it (by then its subscribers have it queued). Without a log it
    /// completes at once.
    /// </summary>
    /// <exception cref="EventLogUnavailableException">The log could not take the event; nothing was published.</exception>
    /// <exception cref="EventTooLargeException">The log cannot take an event this large; nothing was published.</exception>
    public ValueTask<string> PublishAsync(IReadOnlyList<string> topics, SseEvent ev, bool isPrivate = false, CancellationToken cancellationToken = default) =>
        PublishCoreAsync(topics, ev, isPrivate, inline: false, cancellationToken);

    /// <summary>As <see cref="PublishAsync"/>, for the server's own publishers, which may go on on the log's thread (they never block).</summary>
    internal ValueTask<string> PublishInlineAsync(IReadOnlyList<string> topics, SseEvent ev, bool isPrivate = false) =>
        PublishCoreAsync(topics, ev, isPrivate, inline: true, CancellationToken.None);

    private async ValueTask<string> PublishCoreAsync(IReadOnlyList<string> topics, SseEvent ev, bool isPrivate, bool inline, CancellationToken cancellationToken)
    {
        Validate(topics, ev);
        if (_log is null)
        {
            return PublishCore(topics, ev, isPrivate);
        }

        IReadOnlyList<string> distinct = topics.Count == 1 ? topics : [.. topics.Distinct(StringComparer.Ordinal)];
        lock (_lock)
        {
            if (Limits.ReplayCount > 0 && !_topics.HasRoomFor(distinct))
            {
                throw new TopicLimitException(Limits.MaxTopics);
            }
        }

        NewEvent[] appended = [new NewEvent(distinct, ev, isPrivate)];
        long sequence = await (inline ? _log.AppendInlineAsync(appended) : _log.AppendAsync(appended, cancellationToken)).ConfigureAwait(false);
        return ev.Id ?? _ids.Format(sequence);
    }

    private static void Validate(IReadOnlyList<string> topics, SseEvent ev)
    {
        ArgumentNullException.ThrowIfNull(topics);
        ArgumentNullException.ThrowIfNull(ev);
        if (topics.Count is 0 or > MaxTopicsPerEvent)
        {
            throw new ArgumentException($"an event names 1 to {MaxTopicsPerEvent} topics", nameof(topics));
        }

        if (ev.Type == ResetType)
        {
            throw new ArgumentException($"'{ResetType}' is the server's own control event", nameof(ev));
        }

        for (int i = 0; i < topics.Count; i++) // indexed: a foreach over the interface would allocate an enumerator
        {
            if (!IsValidTopic(topics[i]))
            {
                throw new ArgumentException("a topic is 1 to 256 characters with no control characters", nameof(topics));
            }
        }
    }

    /// <summary>
    /// Publishes an event built from the sequence number it is given (the ticker puts it in its data). Without a log
    /// only: behind a log the position is the log's, known once committed.
    /// </summary>
    internal string Publish(string topic, Func<long, SseEvent> build) =>
        _log is null ? PublishBuilt([topic], build) : throw new InvalidOperationException("a hub behind a log publishes through PublishAsync");

    // Without a log: the hub orders events itself. The frame is encoded before the lock: all of the framing (line
    // splitting, UTF-8), with a slot for the id when the hub assigns it, whose digits are written under the lock once
    // the position is known (encoded again there only when the position just gained a digit). The lock orders what
    // must be ordered: the position, the rings and the hand-off to the subscribers. An ephemeral event (the hub's own
    // subscription events) goes to live subscribers only: it takes no position (a negative sequence keeps it apart from
    // every event's), makes no topic and is never kept, so it can neither fill the topic table nor make a resume look
    // like it has a gap.
    private string PublishCore(IReadOnlyList<string> topics, SseEvent ev, bool isPrivate = false, bool ephemeral = false)
    {
        string? ownId = ev.Id ?? (ephemeral ? $"urn:uuid:{Guid.NewGuid()}" : null);
        int idAt = 0, digits = 0;
        byte[] frame;
        if (!ephemeral && TakePrepared(ev) is { } prepared)
        {
            frame = prepared.Frame; // framed from the publish body already, with its own id or a slot for this hub's
            idAt = prepared.IdAt;
            digits = prepared.IdDigits;
        }
        else if (ownId is not null)
        {
            frame = SseFrames.Encode(ev, ownId);
        }
        else
        {
            digits = SseFrames.DigitsOf(Volatile.Read(ref _sequence) + 1); // a guess, checked under the lock
            frame = SseFrames.EncodeWithIdSlot(ev, _ids.Epoch, digits, out idAt);
        }

        long sequence;
        Fanout fanout;
        lock (_lock)
        {
            bool keeping = Limits.ReplayCount > 0 && !ephemeral;
            if (keeping && !_topics.HasRoomFor(topics))
            {
                throw new TopicLimitException(Limits.MaxTopics);
            }

            sequence = ephemeral ? -++_ephemeral : ++_sequence;
            if (ownId is null && !SseFrames.TryStampId(frame, idAt, digits, sequence))
            {
                frame = SseFrames.Encode(ev, _ids.Format(sequence));
            }

            if (!ephemeral)
            {
                _lastOwnId = ev.Id;
            }

            fanout = FanOut(sequence, ownId, frame, topics, isPrivate, keeping, ephemeral, new DueWriters());
            fanout.Due.Dispatch();
        }

        ReportCuts(fanout.Cut);
        return ownId ?? _ids.Format(sequence);
    }

    // The frame an event made from a publish body brought (see PreparedFrame), the first time only, and when its id
    // slot carries this hub's epoch; null when the event is to be encoded here.
    private PreparedFrame? TakePrepared(SseEvent ev) =>
        ev.Prepared is { } prepared && (prepared.IdAt < 0 || prepared.Epoch == _ids.Epoch) && prepared.TryTake() ? prepared : null;

    // The ticker's events, whose data names their position: built and encoded under the lock (two a second).
    private string PublishBuilt(IReadOnlyList<string> topics, Func<long, SseEvent> build)
    {
        string id;
        Fanout fanout;
        lock (_lock)
        {
            bool keeping = Limits.ReplayCount > 0;
            if (keeping && !_topics.HasRoomFor(topics))
            {
                throw new TopicLimitException(Limits.MaxTopics);
            }

            long sequence = ++_sequence;
            var ev = build(sequence);
            id = ev.Id ?? _ids.Format(sequence);
            _lastOwnId = ev.Id;
            fanout = FanOut(sequence, ev.Id, SseFrames.Encode(ev, id), topics, isPrivate: false, keeping, ephemeral: false, new DueWriters());
            fanout.Due.Dispatch();
        }

        ReportCuts(fanout.Cut);
        return id;
    }

    // With a log: an event the log committed, in log order; it cannot be refused now. One the topic table has no room
    // for is not kept in the rings (a resume then reads it from the log).
    void IEventLogSink.Apply(LoggedEvent logged)
    {
        // Before the lock: nothing in the frame depends on the hub's state.
        byte[] frame = TakePrepared(logged.Event) is { } prepared && (prepared.IdAt < 0 || SseFrames.TryStampId(prepared.Frame, prepared.IdAt, prepared.IdDigits, logged.Sequence))
            ? prepared.Frame
            : SseFrames.Encode(logged.Event, logged.Event.Id ?? _ids.Format(logged.Sequence));
        Fanout fanout;
        lock (_lock)
        {
            Debug.Assert(logged.Sequence > _sequence, "the log hands over its events in order");
            if (logged.Sequence > _sequence + 1)
            {
                // Positions this hub never saw (trimmed before a shared log's follower read them, or not events): a
                // resume from before them is the log's to answer.
                _topics.Forget(logged.Sequence - 1);
            }

            _sequence = logged.Sequence;
            _lastOwnId = logged.Event.Id;
            bool keeping = Limits.ReplayCount > 0 && _topics.HasRoomFor(logged.Topics);
            fanout = FanOut(logged.Sequence, logged.Event.Id, frame, logged.Topics, logged.IsPrivate, keeping, ephemeral: false, _applied);
            _applied = fanout.Due;
        }

        ReportCuts(fanout.Cut);
    }

    // Events this hub will never get (a shared log trimmed them before this node read them): every live subscriber
    // may have missed some of its own, so each gets a reset naming the last lost position, ahead of the next event.
    // A resume from before them is the log's to answer.
    void IEventLogSink.Lost(long after, long through)
    {
        Fanout fanout;
        lock (_lock)
        {
            _topics.Forget(through);
            fanout = new Fanout(SseFrames.Lost(_ids.Format(through)), -++_ephemeral, [], isPrivate: false, _applied);
            foreach (var topic in _topics.All)
            {
                foreach (var subscriber in topic.Subscribers)
                {
                    fanout.Offer(subscriber);
                }
            }

            foreach (var group in _selectors.Subscribed)
            {
                foreach (var subscriber in group.Subscribers)
                {
                    fanout.Offer(subscriber);
                }
            }

            _applied = fanout.Due;
            Counters.Delivered(fanout.Deliveries);
        }

        ReportCuts(fanout.Cut);
    }

    // After a batch of Apply calls, once its publishers have their answers: the sending starts only now, so the
    // publishers' continuations (the next request of a keep-alive publisher) run ahead of it, and the next events
    // queue behind this batch's frames, to leave with them in one write.
    void IEventLogSink.Release()
    {
        lock (_lock)
        {
            _applied.Dispatch();
        }
    }

    // Encodes the event once, keeps it in its topics' rings, and queues it for every subscriber its topics or
    // selectors reach.
    // ownId: the event's own id (a ring finds it by it), or null for one the hub assigned (its position names it).
    private Fanout FanOut(long sequence, string? ownId, byte[] frame, IReadOnlyList<string> topics, bool isPrivate, bool keeping, bool ephemeral, DueWriters due)
    {
        Debug.Assert(_lock.IsHeldByCurrentThread);
        var fanout = new Fanout(frame, sequence, topics, isPrivate, due) { PublishedAt = Stopwatch.GetTimestamp() };
        string[]? privateTopics = isPrivate ? [.. topics] : null;
        for (int i = 0; i < topics.Count; i++) // indexed: a foreach over the interface would allocate an enumerator
        {
            string name = topics[i];
            if (!_topics.TryGet(name, out var topic))
            {
                if (ephemeral)
                {
                    continue;
                }

                if (!keeping)
                {
                    _topics.Forget(sequence); // no subscribers and nothing to keep it in
                    continue;
                }

                topic = _topics.GetOrAdd(name, sequence - 1);
            }

            if (topic.LastSequence == sequence)
            {
                continue; // the same topic named twice
            }

            topic.LastSequence = sequence;
            if (!ephemeral)
            {
                _topics.Keep(topic, sequence, ownId, fanout.Frame, privateTopics); // a ring that keeps nothing records the gap
            }

            foreach (var subscriber in topic.Subscribers)
            {
                fanout.Offer(subscriber);
            }

            _topics.RemoveIfUnused(topic); // an event too large to keep, to a topic nobody holds
        }

        // Templates and "*": each selector is matched against the event's topics once, for all its subscribers.
        foreach (var group in _selectors.Subscribed)
        {
            if (group.Matches(sequence, topics))
            {
                foreach (var subscriber in group.Subscribers)
                {
                    fanout.Offer(subscriber);
                }
            }
        }

        Counters.Published(fanout.Deliveries);
        return fanout;
    }

    // Outside the lock: a subscriber cut for falling behind tells its connection, which closes it.
    private static void ReportCuts(List<Subscriber>? cut)
    {
        if (cut is not null)
        {
            foreach (var subscriber in cut)
            {
                subscriber.ReportCut();
            }
        }
    }

    // One event on its way to subscribers: each is offered it once (several topics or selectors may lead to the same
    // one), and a private update only to a subscriber whose grant allows one of its topics.
    private struct Fanout(byte[] frame, long sequence, IReadOnlyList<string> topics, bool isPrivate, DueWriters due)
    {
        public readonly byte[] Frame = frame;
        public DueWriters Due = due;
        public long PublishedAt; // QueuedFrame.PublishedAt: read once per event, never per delivery; 0 for a reset (no publish)
        public long Deliveries;
        public List<Subscriber>? Cut;

        public void Offer(Subscriber subscriber)
        {
            if (subscriber.LastSequence == sequence)
            {
                return;
            }

            subscriber.LastSequence = sequence;
            if (isPrivate && (subscriber.Grant is not { } grant || !grant.Allows(sequence, topics)))
            {
                return;
            }

            switch (subscriber.Enqueue(Frame, PublishedAt))
            {
                case EnqueueResult.MustFlush:
                    Deliveries++;
                    Due.Add(subscriber);
                    break;
                case EnqueueResult.Queued:
                    Deliveries++;
                    break;
                case EnqueueResult.Cut:
                    (Cut ??= []).Add(subscriber);
                    break;
            }
        }
    }

    /// <summary>
    /// Joins a subscriber to its topics and selectors. With a <paramref name="lastEventId"/>, the events after it are
    /// queued first, in order, with no gap and no duplicate (the same lock orders publishing); when that cannot be done
    /// (the id is unknown, ambiguous, or events after it are gone), a single reset event is queued instead. Then the
    /// stream continues live. False, and nothing done, when its new topics would pass <see cref="HubLimits.MaxTopics"/>
    /// or its new templates <see cref="HubLimits.MaxSelectors"/>. <paramref name="head"/>, when given, is queued first,
    /// made under the lock from the value of the response's Last-Event-ID (null when no id was asked for).
    /// </summary>
    internal bool TrySubscribe(Subscriber subscriber, string? lastEventId, Func<string?, byte[]>? head = null) =>
        SubscribeAsync(subscriber, lastEventId, head).AsTask().GetAwaiter().GetResult();

    /// <summary>
    /// As <see cref="TrySubscribe"/>. With a log, a resume the rings cannot serve reads the log first (outside the lock),
    /// then joins with what it read and what the rings hold after it: still in order, with no gap and no duplicate.
    /// </summary>
    internal async ValueTask<bool> SubscribeAsync(Subscriber subscriber, string? lastEventId, Func<string?, byte[]>? head = null)
    {
        if (PublishesSubscriptions)
        {
            subscriber.SubscriptionId = $"urn:uuid:{Guid.NewGuid()}";
        }

        var joined = Join(subscriber, lastEventId, head, fromLog: null);
        LogReplay? fromLog = null;
        for (int attempt = 0; joined.Status == JoinStatus.NeedsLog && attempt < LogReplay.MaxReads; attempt++)
        {
            fromLog = await LogReplay.ReadAsync(_log!, _ids, subscriber, lastEventId!, fromLog).ConfigureAwait(false);
            joined = Join(subscriber, lastEventId, head, fromLog);
        }

        if (joined.Status == JoinStatus.NeedsLog)
        {
            joined = Join(subscriber, lastEventId, head, LogReplay.Reset); // the rings kept moving past every read
        }

        if (joined.Status == JoinStatus.Full)
        {
            return false;
        }

        PublishSubscriptionEvents(subscriber, active: true);
        return true;
    }

    private enum JoinStatus
    {
        Joined,
        Full,
        NeedsLog,
    }

    private readonly record struct JoinResult(JoinStatus Status);

    // Under the lock: the room check, the selectors and grant, the replay (from the rings, or what the log gave plus
    // the rings after it), the head, then the subscription itself. NeedsLog undoes everything and asks the caller to
    // read the log (the rings cannot serve this resume; there is a log behind them).
    private JoinResult Join(Subscriber subscriber, string? lastEventId, Func<string?, byte[]>? head, LogReplay? fromLog)
    {
        lock (_lock)
        {
            if (!_topics.HasRoomFor(subscriber.Topics) || !_selectors.HasRoomFor(subscriber.Patterns, subscriber.Claims?.Subscribe))
            {
                return new JoinResult(JoinStatus.Full);
            }

            subscriber.Groups = subscriber.Patterns.Count == 0 ? [] : [.. subscriber.Patterns.Select(_selectors.Acquire)];
            if (subscriber.Claims?.Subscribe is { } claim)
            {
                subscriber.Grant = _selectors.AcquireGrant(claim);
            }

            List<byte[]>? replay = null;
            if (lastEventId is not null)
            {
                // With a log, everything kept (earliest) is the log's to say; the rings hold only its newest part.
                bool askLog = fromLog is null && _log is not null && lastEventId == Resumes.Earliest;
                replay = askLog ? null : fromLog is null ? _resumes.FramesAfter(subscriber, lastEventId, _sequence) : Combine(subscriber, fromLog);
                if (replay is null && _log is not null && fromLog?.IsReset != true)
                {
                    ReleaseSelectors(subscriber);
                    return new JoinResult(JoinStatus.NeedsLog);
                }
            }

            // Mercure: the response's Last-Event-ID is "the ID of the event preceding the first one sent to the
            // subscriber, or the reserved value earliest if there is no preceding event".
            if (head is not null)
            {
                string? preceding = lastEventId is null ? null : replay is null || lastEventId == Resumes.Earliest ? Resumes.Earliest : lastEventId;
                subscriber.EnqueueExempt([head(preceding)]);
            }

            if (lastEventId is not null)
            {
                QueueReplay(subscriber, replay);
            }

            subscriber.LastSequence = _sequence;
            subscriber.Subscribed = true;
            _subscriberCount++;
            foreach (var name in subscriber.Topics)
            {
                _topics.GetOrAdd(name, _sequence).Subscribers.Add(subscriber);
            }

            foreach (var group in subscriber.Groups)
            {
                _selectors.AddSubscriber(group, subscriber);
            }

            if (subscriber.Topics.Count == 1 && _topics.TryGet(subscriber.Topics[0], out var only))
            {
                // Share the topic's own name list, so the stream's copy of the name can go.
                subscriber.Topics = only.Names;
            }

            return new JoinResult(JoinStatus.Joined);
        }
    }

    // What the log gave (up to the position it read through) and what the rings hold after that position; null when
    // the rings do not reach back that far (the caller reads on from the log). An event the log gave that the hub has
    // not applied yet is left to arrive live.
    private List<byte[]>? Combine(Subscriber subscriber, LogReplay fromLog)
    {
        Debug.Assert(_lock.IsHeldByCurrentThread);
        if (fromLog.IsReset)
        {
            return null;
        }

        List<byte[]> after = [];
        if (fromLog.Through < _sequence)
        {
            var ring = _resumes.FramesAfter(subscriber, _ids.Format(fromLog.Through), _sequence);
            if (ring is null)
            {
                return null;
            }

            after = ring;
        }

        var frames = new List<byte[]>(fromLog.Frames.Count + after.Count);
        foreach (var (sequence, frame) in fromLog.Frames)
        {
            if (sequence <= _sequence)
            {
                frames.Add(frame);
            }
        }

        frames.AddRange(after);
        return frames;
    }

    private void ReleaseSelectors(Subscriber subscriber)
    {
        foreach (var group in subscriber.Groups)
        {
            _selectors.Release(group);
        }

        subscriber.Groups = [];
        if (subscriber.Grant is { } grant)
        {
            _selectors.ReleaseGrant(grant);
            subscriber.Grant = null;
        }
    }

    private void QueueReplay(Subscriber subscriber, List<byte[]>? frames)
    {
        Debug.Assert(_lock.IsHeldByCurrentThread);
        if (frames is null)
        {
            Counters.ReplayMiss();
            // The reset names the newest position, so the next reconnect resumes from here instead of resetting again.
            QueueFrames(subscriber, [SseFrames.Reset(_ids.Format(_sequence))]);
            return;
        }

        Counters.ReplayHit();
        Counters.Delivered(frames.Count);
        QueueFrames(subscriber, frames);
    }

    /// <summary>Removes a subscriber; safe to call more than once. Returns false when it was not subscribed.</summary>
    internal bool Unsubscribe(Subscriber subscriber)
    {
        if (!Leave(subscriber))
        {
            return false;
        }

        PublishSubscriptionEvents(subscriber, active: false);
        return true;
    }

    // Outside the lock, after the join or the leave: one private, unkept update per selector.
    private void PublishSubscriptionEvents(Subscriber subscriber, bool active)
    {
        if (subscriber.SubscriptionId is null)
        {
            return;
        }

        foreach (var subscription in subscriber.Subscriptions(active))
        {
            PublishCore([subscription.Topic], new SseEvent(subscription.ToJson()), isPrivate: true, ephemeral: true);
        }
    }

    private bool Leave(Subscriber subscriber)
    {
        lock (_lock)
        {
            if (!subscriber.Subscribed)
            {
                return false;
            }

            subscriber.Subscribed = false;
            _subscriberCount--;

            foreach (var name in subscriber.Topics)
            {
                if (_topics.TryGet(name, out var topic))
                {
                    topic.Subscribers.Remove(subscriber);
                    _topics.RemoveIfUnused(topic);
                }
            }

            foreach (var group in subscriber.Groups)
            {
                _selectors.RemoveSubscriber(group, subscriber);
                _selectors.Release(group);
            }

            if (subscriber.Grant is { } grant)
            {
                _selectors.ReleaseGrant(grant);
            }

            return true;
        }
    }

    // A stream's writer is normally due already (its head is queued and sent once it has joined); an embedding
    // program's own subscriber may not be.
    private static void QueueFrames(Subscriber subscriber, IReadOnlyList<byte[]> frames)
    {
        if (subscriber.EnqueueExempt(frames))
        {
            subscriber.ScheduleFlush();
        }
    }
}
