namespace RawSse.Sse;

/// <summary>
/// What a stream resuming after a Last-Event-ID is owed: every later event of its topics, in publish order, once
/// each, or nothing at all (the caller sends a reset) when that cannot be promised: the id is unknown, names more than
/// one event, or events after it have left a ring or belonged to a topic since dropped. Guarded by the hub's lock.
/// </summary>
internal sealed class Resumes(TopicTable topics, EventIds ids)
{
    private readonly List<ReplayRing.Entry> _scratch = [];

    /// <summary>The frames to replay, oldest first, or null for a reset.</summary>
    public List<byte[]>? FramesAfter(IReadOnlyList<string> names, string lastEventId, long newest)
    {
        if (!TryFindAnchor(names, lastEventId, newest, out long anchor) || HasGap(names, anchor))
        {
            return null;
        }

        _scratch.Clear();
        foreach (var name in names)
        {
            if (topics.TryGet(name, out var topic))
            {
                topic.Ring.CopyAfter(anchor, _scratch);
            }
        }

        // Several topics: merge by sequence and keep an event published to more than one of them once.
        _scratch.Sort(static (a, b) => a.Sequence.CompareTo(b.Sequence));
        var frames = new List<byte[]>(_scratch.Count);
        long previous = -1;
        foreach (var entry in _scratch)
        {
            if (entry.Sequence != previous)
            {
                frames.Add(entry.Frame);
                previous = entry.Sequence;
            }
        }

        _scratch.Clear();
        return frames;
    }

    // One of the hub's own ids names its position; a publisher's own id must name exactly one kept event.
    private bool TryFindAnchor(IReadOnlyList<string> names, string lastEventId, long newest, out long anchor)
    {
        if (ids.TryParse(lastEventId, out anchor))
        {
            return anchor <= newest;
        }

        anchor = -1;
        foreach (var name in names)
        {
            if (!topics.TryGet(name, out var topic))
            {
                continue;
            }

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

    private bool HasGap(IReadOnlyList<string> names, long anchor)
    {
        foreach (var name in names)
        {
            if (topics.HasGapAfter(name, anchor))
            {
                return true;
            }
        }

        return false;
    }
}
