using RawSse.Auth;

namespace RawSse.Sse;

/// <summary>
/// The distinct selectors and subscribe grants the hub holds, each once however many streams name it, and the groups
/// that have subscribers (the fan-out asks each of those once per event). Compiled templates are bounded by
/// <see cref="HubLimits.MaxSelectors"/>; exact selectors in claims cost a string and are bounded by the streams.
/// Guarded by the hub's lock.
/// </summary>
internal sealed class SelectorTable(int maxTemplates)
{
    private readonly Dictionary<string, SelectorGroup> _selectors = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SubscribeGrant> _grants = new(StringComparer.Ordinal);

    /// <summary>The groups with at least one subscriber.</summary>
    public HashSet<SelectorGroup> Subscribed { get; } = [];

    public int TemplateCount { get; private set; }

    /// <summary>Whether the templates a stream would add fit under the bound (counted generously: any new selector with a brace).</summary>
    public bool HasRoomFor(IReadOnlyList<TopicSelector> patterns, IReadOnlyList<string>? claim)
    {
        int missing = 0;
        foreach (var pattern in patterns)
        {
            if (pattern.Kind == SelectorKind.Template && !_selectors.ContainsKey(pattern.Text))
            {
                missing++;
            }
        }

        if (claim is not null && !_grants.ContainsKey(GrantKey(claim)))
        {
            foreach (var text in claim)
            {
                if (text.Contains('{') && !_selectors.ContainsKey(text))
                {
                    missing++;
                }
            }
        }

        return TemplateCount + missing <= maxTemplates;
    }

    public SelectorGroup Acquire(TopicSelector selector)
    {
        if (!_selectors.TryGetValue(selector.Text, out var group))
        {
            _selectors[selector.Text] = group = new SelectorGroup(selector);
            if (selector.Kind == SelectorKind.Template)
            {
                TemplateCount++;
            }
        }

        group.Uses++;
        return group;
    }

    public void Release(SelectorGroup group)
    {
        if (--group.Uses == 0 && _selectors.Remove(group.Selector.Text) && group.Selector.Kind == SelectorKind.Template)
        {
            TemplateCount--;
        }
    }

    /// <summary>The grant of a <c>mercure.subscribe</c> claim, made on first use.</summary>
    public SubscribeGrant AcquireGrant(IReadOnlyList<string> claim)
    {
        string key = GrantKey(claim);
        if (!_grants.TryGetValue(key, out var grant))
        {
            var selectors = new SelectorGroup[claim.Count];
            for (int i = 0; i < claim.Count; i++)
            {
                selectors[i] = _selectors.TryGetValue(claim[i], out var known) ? Use(known) : Acquire(SelectorCache.Get(claim[i]));
            }

            _grants[key] = grant = new SubscribeGrant(key, selectors);
        }

        grant.Uses++;
        return grant;
    }

    public void ReleaseGrant(SubscribeGrant grant)
    {
        if (--grant.Uses == 0 && _grants.Remove(grant.Key))
        {
            foreach (var selector in grant.Selectors)
            {
                Release(selector);
            }
        }
    }

    public void AddSubscriber(SelectorGroup group, Subscriber subscriber)
    {
        group.Subscribers.Add(subscriber);
        Subscribed.Add(group);
    }

    public void RemoveSubscriber(SelectorGroup group, Subscriber subscriber)
    {
        if (group.Subscribers.Remove(subscriber) && group.Subscribers.Count == 0)
        {
            Subscribed.Remove(group);
        }
    }

    private static SelectorGroup Use(SelectorGroup group)
    {
        group.Uses++;
        return group;
    }

    // A selector has no control characters (TopicSelector.IsValid), so LF cannot occur inside one.
    private static string GrantKey(IReadOnlyList<string> claim) => string.Join('\n', claim);
}
