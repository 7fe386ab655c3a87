using System.Globalization;

namespace RawSse.Sse;

/// <summary>
/// Topics and their subscribers. A published event is encoded once, under one lock that also orders the
/// hub's sequence numbers, and the same bytes are queued for every subscriber of its topics. Queueing never
/// blocks: a subscriber that cannot keep up is handled by its own queue's policy, not by the publisher.
/// </summary>
public sealed class Hub
{
    /// <summary>The topic a stream joins when it names none; the ticker publishes to it.</summary>
    public const string DefaultTopic = "default";

    private readonly Lock _lock = new();
    private readonly Dictionary<string, HashSet<Subscriber>> _topics = new(StringComparer.Ordinal); // guarded by _lock
    private readonly HashSet<Subscriber> _all = [];                                               // guarded by _lock
    private long _sequence;                                                                        // guarded by _lock

    /// <summary>Streams currently subscribed.</summary>
    public int SubscriberCount
    {
        get { lock (_lock) { return _all.Count; } }
    }

    /// <summary>Streams currently subscribed to <paramref name="topic"/>.</summary>
    public int CountSubscribers(string topic)
    {
        lock (_lock)
        {
            return _topics.TryGetValue(topic, out var set) ? set.Count : 0;
        }
    }

    /// <summary>Publishes <paramref name="ev"/> to one topic. Returns the event's id (assigned when it had none).</summary>
    public string Publish(string topic, SseEvent ev) => Publish([topic], ev);

    /// <summary>
    /// Publishes <paramref name="ev"/> to every subscriber of any of <paramref name="topics"/>; a subscriber of
    /// several of them receives it once. Returns the event's id (the hub's next sequence number when it had none).
    /// </summary>
    public string Publish(IReadOnlyList<string> topics, SseEvent ev)
    {
        ArgumentNullException.ThrowIfNull(topics);
        ArgumentNullException.ThrowIfNull(ev);
        if (topics.Count == 0)
        {
            throw new ArgumentException("at least one topic is required", nameof(topics));
        }

        return PublishCore(topics, _ => ev);
    }

    /// <summary>Publishes an event built from the sequence number it is given (the ticker puts it in its data).</summary>
    internal string Publish(string topic, Func<long, SseEvent> build) => PublishCore([topic], build);

    private string PublishCore(IReadOnlyList<string> topics, Func<long, SseEvent> build)
    {
        lock (_lock)
        {
            long sequence = ++_sequence;
            var ev = build(sequence);
            string id = ev.Id ?? sequence.ToString(CultureInfo.InvariantCulture);
            byte[] frame = ev.Encode(id);
            foreach (var topic in topics)
            {
                if (!_topics.TryGetValue(topic, out var subscribers))
                {
                    continue;
                }

                foreach (var subscriber in subscribers)
                {
                    if (subscriber.LastSequence == sequence)
                    {
                        continue;
                    }

                    subscriber.LastSequence = sequence;
                    subscriber.Enqueue(frame);
                }
            }

            return id;
        }
    }

    internal void Subscribe(Subscriber subscriber)
    {
        lock (_lock)
        {
            _all.Add(subscriber);
            foreach (var topic in subscriber.Topics)
            {
                if (!_topics.TryGetValue(topic, out var set))
                {
                    _topics[topic] = set = [];
                }

                set.Add(subscriber);
            }
        }
    }

    /// <summary>Removes a subscriber; safe to call more than once.</summary>
    internal bool Unsubscribe(Subscriber subscriber)
    {
        lock (_lock)
        {
            if (!_all.Remove(subscriber))
            {
                return false;
            }

            foreach (var topic in subscriber.Topics)
            {
                if (_topics.TryGetValue(topic, out var set))
                {
                    set.Remove(subscriber);
                    if (set.Count == 0)
                    {
                        _topics.Remove(topic);
                    }
                }
            }

            return true;
        }
    }

    /// <summary>Subscribers whose send has been stuck longer than <paramref name="timeoutMs"/>; the shared sweep cuts them.</summary>
    internal List<Subscriber> FindStalled(long now, long timeoutMs)
    {
        var stalled = new List<Subscriber>();
        lock (_lock)
        {
            foreach (var subscriber in _all)
            {
                if (subscriber.IsWriteStalled(now, timeoutMs))
                {
                    stalled.Add(subscriber);
                }
            }
        }

        return stalled;
    }

    internal Subscriber[] Snapshot()
    {
        lock (_lock)
        {
            return [.. _all];
        }
    }
}
