using System.Diagnostics;
using System.Globalization;

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

    private readonly Lock _lock = new();
    private readonly Dictionary<string, Topic> _topics = new(StringComparer.Ordinal); // guarded by _lock
    private readonly List<ReplayRing.Entry> _replayScratch = [];                      // guarded by _lock
    private readonly int _replayCapacity;

    private long _sequence;                                                           // guarded by _lock
    private int _subscriberCount;                                                     // guarded by _lock

    /// <summary>
    /// A hub is normally made by its <see cref="Server"/>. An embedding program may make its own and hand it to
    /// successive servers (a restarted listener), so replay and ids carry on across them.
    /// </summary>
    /// <param name="replayCapacity">Events each topic keeps for Last-Event-ID resumes; 0 keeps none.</param>
    public Hub(int replayCapacity = 1000)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(replayCapacity);
        _replayCapacity = replayCapacity;
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
            return _topics.TryGetValue(topic, out var t) ? t.Subscribers.Count : 0;
        }
    }

    /// <summary>True when <paramref name="topic"/> can name a topic: 1 to 256 characters, no control characters.</summary>
    public static bool IsValidTopic(string? topic) =>
        !string.IsNullOrEmpty(topic) && topic.Length <= MaxTopicLength && !topic.AsSpan().ContainsAnyInRange('\0', '\u001f') && !topic.Contains('\u007f');

    /// <summary>Publishes <paramref name="ev"/> to one topic. Returns the event's id (assigned when it had none).</summary>
    public string Publish(string topic, SseEvent ev) => Publish([topic], ev);

    /// <summary>
    /// Publishes <paramref name="ev"/> to every subscriber of any of <paramref name="topics"/>; a subscriber of
    /// several of them receives it once. Returns the event's id: its own, or the hub's next sequence number.
    /// </summary>
    /// <exception cref="ArgumentException">No topic, or a topic that <see cref="IsValidTopic"/> refuses.</exception>
    public string Publish(IReadOnlyList<string> topics, SseEvent ev)
    {
        ArgumentNullException.ThrowIfNull(topics);
        ArgumentNullException.ThrowIfNull(ev);
        if (topics.Count == 0)
        {
            throw new ArgumentException("at least one topic is required", nameof(topics));
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
            long sequence = ++_sequence;
            var ev = build(sequence);
            id = ev.Id ?? sequence.ToString(CultureInfo.InvariantCulture);
            byte[] frame = SseFrames.Encode(ev, id);
            long deliveries = 0;
            var due = new DueWriters();
            foreach (var name in topics)
            {
                if (!_topics.TryGetValue(name, out var topic))
                {
                    if (_replayCapacity == 0)
                    {
                        continue; // no subscribers and nothing to keep
                    }

                    _topics[name] = topic = new Topic(name, _replayCapacity);
                }

                if (topic.LastSequence == sequence)
                {
                    continue; // the same topic named twice
                }

                topic.LastSequence = sequence;
                topic.Ring.Add(sequence, id, frame);
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
    /// first, in order, with no gap and no duplicate (the same lock orders publishing); if the id is not in the
    /// ring of every topic's window, a single reset event is queued instead. Then the stream continues live.
    /// </summary>
    internal void Subscribe(Subscriber subscriber, string? lastEventId)
    {
        lock (_lock)
        {
            if (lastEventId is not null)
            {
                Replay(subscriber, lastEventId);
            }

            subscriber.LastSequence = _sequence;
            subscriber.Subscribed = true;
            _subscriberCount++;
            foreach (var name in subscriber.Topics)
            {
                GetOrAddTopic(name).Subscribers.Add(subscriber);
            }

            if (subscriber.Topics.Count == 1)
            {
                // Share the topic's own name list, so the stream's copy of the name can go.
                subscriber.Topics = _topics[subscriber.Topics[0]].Names;
            }
        }
    }

    private void Replay(Subscriber subscriber, string lastEventId)
    {
        Debug.Assert(_lock.IsHeldByCurrentThread);
        long anchor = -1;
        foreach (var name in subscriber.Topics)
        {
            if (_topics.TryGetValue(name, out var topic) && topic.Ring.TryFind(lastEventId, out long found))
            {
                anchor = Math.Max(anchor, found);
            }
        }

        bool gap = anchor < 0;
        foreach (var name in subscriber.Topics)
        {
            if (!gap && _topics.TryGetValue(name, out var topic) && topic.Ring.EvictedUpTo > anchor)
            {
                gap = true; // this topic's events right after the anchor have left its ring
            }
        }

        if (gap)
        {
            Counters.ReplayMiss();
            QueueReplay(subscriber, [SseFrames.ResetFrame]);
            return;
        }

        _replayScratch.Clear();
        foreach (var name in subscriber.Topics)
        {
            if (_topics.TryGetValue(name, out var topic))
            {
                topic.Ring.CopyAfter(anchor, _replayScratch);
            }
        }

        // Several topics: merge by sequence and keep an event published to more than one of them once.
        _replayScratch.Sort(static (a, b) => a.Sequence.CompareTo(b.Sequence));
        var frames = new List<byte[]>(_replayScratch.Count);
        long previous = -1;
        foreach (var entry in _replayScratch)
        {
            if (entry.Sequence != previous)
            {
                frames.Add(entry.Frame);
                previous = entry.Sequence;
            }
        }

        _replayScratch.Clear();
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
                if (_topics.TryGetValue(name, out var topic))
                {
                    topic.Subscribers.Remove(subscriber);
                    if (topic.Subscribers.Count == 0 && topic.Ring.Count == 0)
                    {
                        _topics.Remove(name);
                    }
                }
            }

            return true;
        }
    }

    internal IReadOnlyList<(string Topic, int Count)> CountByTopic()
    {
        lock (_lock)
        {
            var counts = new List<(string, int)>(_topics.Count);
            foreach (var (name, topic) in _topics)
            {
                if (topic.Subscribers.Count > 0)
                {
                    counts.Add((name, topic.Subscribers.Count));
                }
            }

            counts.Sort(static (a, b) => string.CompareOrdinal(a.Item1, b.Item1));
            return counts;
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

    private Topic GetOrAddTopic(string name)
    {
        Debug.Assert(_lock.IsHeldByCurrentThread);
        if (!_topics.TryGetValue(name, out var topic))
        {
            _topics[name] = topic = new Topic(name, _replayCapacity);
        }

        return topic;
    }

    private sealed class Topic(string name, int replayCapacity)
    {
        public string[] Names { get; } = [name];

        public HashSet<Subscriber> Subscribers { get; } = [];
        public ReplayRing Ring { get; } = new(replayCapacity);
        public long LastSequence { get; set; }
    }
}
