using RawSse.Auth;
using RawSse.Store;

namespace RawSse.Sse;

/// <summary>
/// The part of a resume the rings cannot serve, read from the log outside the hub's lock: the frames of every event
/// after the stream's Last-Event-ID that its selectors match and its grant allows, in log order, up to
/// <see cref="Through"/>, the position the read is complete through. The hub then adds what its rings hold after that
/// position (or reads again, from there, when they do not reach back so far). A reset when the id names no position
/// of this log (another epoch, an unknown or ambiguous id, a position past the head) or when retention removed
/// events after it. Unlike the rings' frames, which every subscriber shares, these are encoded for this stream alone,
/// so one resume may hold at most <see cref="MaxEvents"/> events and <see cref="QueuesPerResume"/> times the stream's
/// queue bytes of them (more: a reset): whoever opens resumes, each costs at most that until it is sent.
/// </summary>
internal sealed class LogReplay
{
    /// <summary>Events one resume may read from the log.</summary>
    public const int MaxEvents = 10_000;

    /// <summary>The frames one resume may hold, in multiples of its stream's <c>--queue-bytes</c> (4 MiB at the defaults).</summary>
    public const int QueuesPerResume = 4;

    /// <summary>Reads before giving up on rings that keep moving past them.</summary>
    public const int MaxReads = 3;

    public static readonly LogReplay Reset = new([], 0, isReset: true);

    /// <summary>The bytes of <see cref="Frames"/>.</summary>
    public long Bytes { get; }

    private LogReplay(List<(long Sequence, byte[] Frame)> frames, long through, long bytes = 0, bool isReset = false)
    {
        Frames = frames;
        Bytes = bytes;
        Through = through;
        IsReset = isReset;
    }

    public List<(long Sequence, byte[] Frame)> Frames { get; }

    /// <summary>The read holds every matching event up to this position.</summary>
    public long Through { get; }

    public bool IsReset { get; }

    /// <summary>The first read (<paramref name="previous"/> null), or the next one, after what <paramref name="previous"/> read through.</summary>
    public static async ValueTask<LogReplay> ReadAsync(IEventLog log, EventIds ids, Subscriber subscriber, string lastEventId, LogReplay? previous)
    {
        bool everything = lastEventId == Resumes.Earliest;
        long after;
        if (previous is not null)
        {
            after = previous.Through;
        }
        else if (everything)
        {
            after = 0;
        }
        else if (ids.TryParse(lastEventId, out long position))
        {
            if (position > log.Head && !await log.CatchUpAsync(position).ConfigureAwait(false))
            {
                return Reset;
            }

            after = position;
        }
        else
        {
            var found = await log.FindIdAsync(lastEventId).ConfigureAwait(false);
            if (found.Count != 1)
            {
                return Reset; // unknown, or a publisher's id that names several events: which one the client saw is unknown
            }

            after = found[0];
        }

        long head = log.Head;
        var read = await log.ReadAfterAsync(after, subscriber.Patterns.Count == 0 ? [.. subscriber.Topics] : null, MaxEvents).ConfigureAwait(false);
        if (!read.Complete && !(everything && previous is null && read.Events.Count < MaxEvents))
        {
            return Reset;
        }

        var frames = previous?.Frames ?? [];
        long bytes = previous?.Bytes ?? 0;
        long maxBytes = QueuesPerResume * subscriber.Limits.MaxQueuedBytes;
        long through = Math.Max(head, after);
        foreach (var logged in read.Events)
        {
            through = Math.Max(through, logged.Sequence);
            if (Routes(subscriber, logged) && Allows(subscriber, logged))
            {
                var frame = SseFrames.Encode(logged.Event, logged.Event.Id ?? ids.Format(logged.Sequence));
                bytes += frame.Length;
                if (bytes > maxBytes)
                {
                    return Reset;
                }

                frames.Add((logged.Sequence, frame));
            }
        }

        return new LogReplay(frames, through, bytes);
    }

    private static bool Routes(Subscriber subscriber, LoggedEvent logged)
    {
        foreach (var topic in logged.Topics)
        {
            if (subscriber.Topics.Contains(topic) || subscriber.Patterns.Any(p => p.Matches(topic)))
            {
                return true;
            }
        }

        return false;
    }

    private static bool Allows(Subscriber subscriber, LoggedEvent logged) =>
        !logged.IsPrivate || (subscriber.Claims?.Subscribe is { } claim && logged.Topics.Any(topic => SelectorCache.AnyMatches(claim, topic)));
}
