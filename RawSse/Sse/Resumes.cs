namespace RawSse.Sse;

/// <summary>
/// What a stream resuming after a Last-Event-ID is owed: every later event its selectors match and its grant allows
/// (a private update only with a grant for one of its topics), in publish order, once each, or nothing at all (the
/// caller sends a reset) when that cannot be promised: the id is unknown, names more than one event, or events after
/// it have left a ring or belonged to a topic since dropped. <see cref="Earliest"/> asks for everything kept, and is
/// never a reset. Guarded by the hub's lock.
/// </summary>
internal sealed class Resumes(TopicTable topics, EventIds ids)
{
    /// <summary>Mercure's <c>lastEventID=earliest</c>: every event still kept.</summary>
    public const string Earliest = "earliest";

    private readonly List<ReplayRing.Entry> _scratch = [];
    private readonly List<Topic> _matched = [];

    /// <summary>The frames to replay, oldest first, or null for a reset.</summary>
    public List<byte[]>? FramesAfter(Subscriber subscriber, string lastEventId, long newest)
    {
        try
        {
            FindTopics(subscriber);
            long anchor = -1;
            if (lastEventId != Earliest && (!TryFindAnchor(lastEventId, newest, out anchor) || HasGap(subscriber, anchor)))
            {
                return null;
            }

            foreach (var topic in _matched)
            {
                topic.Ring.CopyAfter(anchor, _scratch);
            }

            // Several topics: merge by sequence and keep an event published to more than one of them once.
            _scratch.Sort(static (a, b) => a.Sequence.CompareTo(b.Sequence));
            var frames = new List<byte[]>(_scratch.Count);
            long previous = -1;
            foreach (var entry in _scratch)
            {
                if (entry.Sequence != previous && Allows(subscriber, entry))
                {
                    frames.Add(entry.Frame);
                }

                previous = entry.Sequence;
            }

            return frames;
        }
        finally
        {
            _scratch.Clear();
            _matched.Clear();
        }
    }

    private static bool Allows(Subscriber subscriber, in ReplayRing.Entry entry) =>
        entry.PrivateTopics is null || (subscriber.Grant is { } grant && grant.Allows(entry.Sequence, entry.PrivateTopics));

    // The live topics the stream's selectors match: its exact topics by name, its templates by a walk of the table.
    private void FindTopics(Subscriber subscriber)
    {
        foreach (var name in subscriber.Topics)
        {
            if (topics.TryGet(name, out var topic))
            {
                _matched.Add(topic);
            }
        }

        if (subscriber.Groups.Length == 0)
        {
            return;
        }

        foreach (var topic in topics.All)
        {
            if (!_matched.Contains(topic) && MatchesAny(subscriber.Groups, topic.Name))
            {
                _matched.Add(topic);
            }
        }
    }

    private static bool MatchesAny(SelectorGroup[] groups, string topic)
    {
        foreach (var group in groups)
        {
            if (group.Selector.Matches(topic))
            {
                return true;
            }
        }

        return false;
    }

    // One of the hub's own ids names its position; a publisher's own id must name exactly one kept event.
    private bool TryFindAnchor(string lastEventId, long newest, out long anchor)
    {
        if (ids.TryParse(lastEventId, out anchor))
        {
            return anchor <= newest;
        }

        anchor = -1;
        foreach (var topic in _matched)
        {
            switch (topic.Ring.TryFind(lastEventId, out long found))
            {
                case IdMatch.Ambiguous:
                    return false;
                case IdMatch.Found when anchor >= 0 && anchor != found:
                    return false; // the id names different events in two topics
                case IdMatch.Found:
                    anchor = found;
                    break;
            }
        }

        return anchor >= 0;
    }

    private bool HasGap(Subscriber subscriber, long anchor)
    {
        foreach (var name in subscriber.Topics)
        {
            if (topics.HasGapAfter(name, anchor))
            {
                return true;
            }
        }

        if (subscriber.Groups.Length == 0)
        {
            return false;
        }

        // A template may have matched a topic since dropped: only the forgotten bound can tell, so it is taken as a gap.
        if (topics.ForgottenUpTo > anchor)
        {
            return true;
        }

        foreach (var topic in _matched)
        {
            if (topic.Ring.EvictedUpTo > anchor)
            {
                return true;
            }
        }

        return false;
    }
}
