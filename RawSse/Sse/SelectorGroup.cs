using RawSse.Auth;

namespace RawSse.Sse;

/// <summary>
/// One distinct topic selector the hub holds, shared by every subscription and every token's claim that names it: the
/// subscribers that subscribed with it (a template or <c>*</c>; exact topics stay in their <see cref="Topic"/>), and
/// whether it matches the event being published, worked out once per event however many subscribers and claims ask.
/// Guarded by the hub's lock.
/// </summary>
internal sealed class SelectorGroup(TopicSelector selector)
{
    private long _sequence = long.MinValue; // no event has it: ephemeral events take negative sequences
    private bool _matched;

    public TopicSelector Selector { get; } = selector;

    public HashSet<Subscriber> Subscribers { get; } = [];

    /// <summary>Subscriptions and claims holding it; the table drops it at zero.</summary>
    public int Uses { get; set; }

    /// <summary>Whether the selector matches any of the topics of the event at <paramref name="sequence"/>.</summary>
    public bool Matches(long sequence, IReadOnlyList<string> topics)
    {
        if (_sequence != sequence)
        {
            _matched = false;
            for (int i = 0; i < topics.Count && !_matched; i++)
            {
                _matched = Selector.Matches(topics[i]);
            }

            _sequence = sequence;
        }

        return _matched;
    }
}
