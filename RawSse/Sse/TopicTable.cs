using System.Diagnostics.CodeAnalysis;

namespace RawSse.Sse;

/// <summary>
/// The live topics and what they keep, within the hub's limits: at most <see cref="HubLimits.MaxTopics"/> topics, and
/// at most <see cref="HubLimits.MaxReplayBytes"/> kept across them, the oldest events going first whatever their topic.
/// A topic with no subscriber and nothing kept is dropped, and remembered only as a bound: <see cref="ForgottenUpTo"/>,
/// the newest event that any dropped topic once had, so a resume from before it gets a reset rather than a silent gap.
/// Guarded by the hub's lock.
/// </summary>
internal sealed class TopicTable(HubLimits limits)
{
    private const int MinCompactEntries = 1024;

    private readonly Dictionary<string, Topic> _topics = new(StringComparer.Ordinal);

    // Every kept event in publish order, across topics: the overall budget evicts from its head. An entry whose event
    // already left its ring by its topic's own bounds stays until it reaches the head, or until such entries are most
    // of the queue, when it is rebuilt without them: the queue stays within twice the events kept (and 1,024).
    private readonly Queue<(Topic Topic, long Sequence)> _order = new();
    private long _keptEvents;

    public int Count => _topics.Count;

    /// <summary>The bytes kept across topics (see <see cref="ReplayRing.CostOf"/>).</summary>
    public long KeptBytes { get; private set; }

    public long ForgottenUpTo { get; private set; }

    /// <summary>Every live topic, for a resume whose selectors are templates.</summary>
    public Dictionary<string, Topic>.ValueCollection All => _topics.Values;

    public bool TryGet(string name, [MaybeNullWhen(false)] out Topic topic) => _topics.TryGetValue(name, out topic);

    /// <summary>Whether the topics not live yet among <paramref name="names"/> fit under the cap.</summary>
    public bool HasRoomFor(IReadOnlyList<string> names)
    {
        int missing = 0;
        for (int i = 0; i < names.Count; i++)
        {
            if (!_topics.ContainsKey(names[i]) && IndexOf(names, names[i]) == i)
            {
                missing++;
            }
        }

        return _topics.Count + missing <= limits.MaxTopics;
    }

    public Topic GetOrAdd(string name, long sequence)
    {
        if (!_topics.TryGetValue(name, out var topic))
        {
            _topics[name] = topic = new Topic(name, limits, sequence);
        }

        return topic;
    }

    /// <summary>An event that named no live topic, with nothing to keep it in: only the bound remembers it.</summary>
    public void Forget(long sequence) => ForgottenUpTo = Math.Max(ForgottenUpTo, sequence);

    /// <summary>Keeps an event in its topic's ring, then lets the oldest events go, across topics, past the overall budget.</summary>
    public void Keep(Topic topic, long sequence, string? id, byte[] frame, string[]? privateTopics)
    {
        var added = topic.Ring.Add(sequence, id, frame, privateTopics);
        KeptBytes -= added.FreedBytes;
        _keptEvents -= added.FreedCount;
        if (added.Kept)
        {
            _order.Enqueue((topic, sequence));
            KeptBytes += ReplayRing.CostOf(frame, id);
            _keptEvents++;
        }

        // A stale entry (its event already gone) does not match its ring's oldest, and a dropped topic's ring is empty.
        while (KeptBytes > limits.MaxReplayBytes && _order.TryDequeue(out var oldest))
        {
            if (oldest.Topic.Ring.OldestSequence == oldest.Sequence)
            {
                KeptBytes -= oldest.Topic.Ring.EvictOldest();
                _keptEvents--;
                RemoveIfUnused(oldest.Topic);
            }
        }

        if (_order.Count > MinCompactEntries && _order.Count > 2 * _keptEvents)
        {
            Compact();
        }
    }

    /// <summary>Drops a topic nothing holds any more; what it had is remembered as the forgotten bound.</summary>
    public void RemoveIfUnused(Topic topic)
    {
        if (topic.IsUnused && _topics.Remove(topic.Name))
        {
            Forget(topic.Ring.EvictedUpTo);
        }
    }

    /// <summary>
    /// True when a resume after <paramref name="anchor"/> would miss events of <paramref name="name"/>: some have left
    /// its ring, or the topic (or an earlier topic of that name) was dropped with events after the anchor.
    /// </summary>
    public bool HasGapAfter(string name, long anchor)
    {
        if (!_topics.TryGetValue(name, out var topic))
        {
            return ForgottenUpTo > anchor;
        }

        return topic.Ring.EvictedUpTo > anchor || (topic.CreatedAfter > anchor && ForgottenUpTo > anchor);
    }

    private static int IndexOf(IReadOnlyList<string> names, string name)
    {
        for (int i = 0; i < names.Count; i++)
        {
            if (names[i] == name)
            {
                return i;
            }
        }

        return -1;
    }

    private void Compact()
    {
        int count = _order.Count;
        for (int i = 0; i < count; i++)
        {
            var entry = _order.Dequeue();
            if (entry.Topic.Ring.OldestSequence <= entry.Sequence)
            {
                _order.Enqueue(entry);
            }
        }
    }
}
