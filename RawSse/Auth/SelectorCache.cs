using System.Collections.Concurrent;

namespace RawSse.Auth;

/// <summary>
/// Parsed selectors by their text, so a template named by many requests (a claim, a subscription) is compiled once.
/// Bounded: past <see cref="Capacity"/> entries it starts again empty, so a stream of distinct selectors costs at most
/// that many compiled matchers here.
/// </summary>
internal static class SelectorCache
{
    public const int Capacity = 1024;

    private static readonly ConcurrentDictionary<string, TopicSelector> s_selectors = new(StringComparer.Ordinal);

    /// <summary>False when <paramref name="text"/> can only be an exact topic: it is not <c>*</c> and has no expression.</summary>
    public static bool MayBePattern(string text) => text == "*" || text.Contains('{');

    /// <summary>The selector for <paramref name="text"/>, which <see cref="TopicSelector.IsValid"/> must accept.</summary>
    public static TopicSelector Get(string text)
    {
        if (s_selectors.TryGetValue(text, out var selector))
        {
            return selector;
        }

        if (s_selectors.Count >= Capacity)
        {
            s_selectors.Clear();
        }

        return s_selectors.GetOrAdd(text, TopicSelector.Parse);
    }

    /// <summary>Whether any selector of <paramref name="selectors"/> matches <paramref name="topic"/>.</summary>
    public static bool AnyMatches(IReadOnlyList<string> selectors, string topic)
    {
        for (int i = 0; i < selectors.Count; i++) // indexed: a foreach over the interface would allocate an enumerator
        {
            string text = selectors[i];
            if (text == topic || (MayBePattern(text) && Get(text).Matches(topic)))
            {
                return true;
            }
        }

        return false;
    }
}
