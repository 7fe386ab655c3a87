using System.Diagnostics;

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
public sealed class Hub
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
    private readonly EventIds _ids = new();

    private long _sequence;                                                           // guarded by _lock
    private int _subscriberCount;                                                     // guarded by _lock

    /// <summary>
    /// A hub is normally made by its <see cref="Server"/>. An embedding program may make its own and hand it to
    /// successive servers (a restarted listener), so replay and ids carry on across them.
    /// </summary>
    /// <param name="replayCapacity">Events each topic keeps for Last-Event-ID resumes; 0 keeps none.</param>
    public Hub(int replayCapacity = 1000)
        : this(HubLimits.Default with { ReplayCount = replayCapacity })
    {
    }

    /// <exception cref="ArgumentException">A limit out of its range.</exception>
    public Hub(HubLimits limits)
    {
        ArgumentNullException.ThrowIfNull(limits);
        limits.Validate();
        Limits = limits;
        _topics = new TopicTable(limits);
        _resumes = new Resumes(_topics, _ids);
    }

    public HubLimits Limits { get; }

    /// <summary>The epoch of this hub's ids (<c>&lt;epoch&gt;-&lt;sequence&gt;</c>), new for every hub.</summary>
    public string Epoch => _ids.Epoch;

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
    public string Publish(IReadOnlyList<string> topics, SseEvent ev)
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

        foreach (var topic in topics)
        {
            if (!IsValidTopic(topic))
            {
                throw new ArgumentException("a topic is 1 to 256 characters with no control characters", nameof(topics));
            }
        }

        return PublishCore(topics, _ => ev);
    }

    /// <summary>Publishes an event built from the sequence number it is given (the ticker puts it in its data).</summary>
    internal string Publish(string topic, Func<long, SseEvent> build) => PublishCore([topic], build);

    private string PublishCore(IReadOnlyList<string> topics, Func<long, SseEvent> build)
    {
        string id;
        List<Subscriber>? cut = null;
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
            byte[] frame = SseFrames.Encode(ev, id);
            long deliveries = 0;
            var due = new DueWriters();
            foreach (var name in topics)
            {
                if (!_topics.TryGet(name, out var topic))
                {
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
                _topics.Keep(topic, sequence, id, frame);
                foreach (var subscriber in topic.Subscribers)
                {
                    if (subscriber.LastSequence == sequence)
                    {
                        continue;
                    }

                    subscriber.LastSequence = sequence;
                    switch (subscriber.Enqueue(frame))
                    {
                        case EnqueueResult.MustFlush:
                            deliveries++;
                            due.Add(subscriber);
                            break;
                        case EnqueueResult.Queued:
                            deliveries++;
                            break;
                        case EnqueueResult.Cut:
                            (cut ??= []).Add(subscriber);
                            break;
                    }
                }

                _topics.RemoveIfUnused(topic); // an event too large to keep, to a topic nobody holds
            }

            due.Dispatch();
            Counters.Published(deliveries);
        }

        // Outside the lock: a subscriber cut for falling behind tells its connection, which closes it.
        if (cut is not null)
        {
            foreach (var subscriber in cut)
            {
                subscriber.ReportCut();
            }
        }

        return id;
    }

    /// <summary>
    /// Joins a subscriber to its topics. With a <paramref name="lastEventId"/>, the events after it are queued
    /// first, in order, with no gap and no duplicate (the same lock orders publishing); when that cannot be done
    /// (the id is unknown, ambiguous, or events after it are gone), a single reset event is queued instead. Then the
    /// stream continues live. False, and nothing done, when its new topics would pass <see cref="HubLimits.MaxTopics"/>.
    /// </summary>
    internal bool TrySubscribe(Subscriber subscriber, string? lastEventId)
    {
        lock (_lock)
        {
            if (!_topics.HasRoomFor(subscriber.Topics))
            {
                return false;
            }

            if (lastEventId is not null)
            {
                Replay(subscriber, lastEventId);
            }

            subscriber.LastSequence = _sequence;
            subscriber.Subscribed = true;
            _subscriberCount++;
            foreach (var name in subscriber.Topics)
            {
                _topics.GetOrAdd(name, _sequence).Subscribers.Add(subscriber);
            }

            if (subscriber.Topics.Count == 1 && _topics.TryGet(subscriber.Topics[0], out var only))
            {
                // Share the topic's own name list, so the stream's copy of the name can go.
                subscriber.Topics = only.Names;
            }

            return true;
        }
    }

    private void Replay(Subscriber subscriber, string lastEventId)
    {
        Debug.Assert(_lock.IsHeldByCurrentThread);
        var frames = _resumes.FramesAfter(subscriber.Topics, lastEventId, _sequence);
        if (frames is null)
        {
            Counters.ReplayMiss();
            // The reset names the newest position, so the next reconnect resumes from here instead of resetting again.
            QueueReplay(subscriber, [SseFrames.Reset(_ids.Format(_sequence))]);
            return;
        }

        Counters.ReplayHit();
        Counters.Delivered(frames.Count);
        QueueReplay(subscriber, frames);
    }

    /// <summary>Removes a subscriber; safe to call more than once. Returns false when it was not subscribed.</summary>
    internal bool Unsubscribe(Subscriber subscriber)
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

            return true;
        }
    }

    // A stream's writer is normally due already (its head is queued and sent once it has joined); an embedding
    // program's own subscriber may not be.
    private static void QueueReplay(Subscriber subscriber, IReadOnlyList<byte[]> frames)
    {
        if (subscriber.EnqueueExempt(frames))
        {
            subscriber.ScheduleFlush();
        }
    }
}
