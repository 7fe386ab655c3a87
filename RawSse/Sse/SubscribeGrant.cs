namespace RawSse.Sse;

/// <summary>
/// A token's <c>mercure.subscribe</c> claim as the hub holds it: its selectors, shared with every other claim and
/// subscription that names them, and one grant for every stream whose token has the same claim. A private update
/// reaches a subscriber only when one of the update's topics matches one of its grant's selectors (Mercure,
/// "Authorization"). Guarded by the hub's lock.
/// </summary>
internal sealed class SubscribeGrant(string key, SelectorGroup[] selectors)
{
    public string Key { get; } = key;

    public SelectorGroup[] Selectors { get; } = selectors;

    public int Uses { get; set; }

    public bool Allows(long sequence, IReadOnlyList<string> topics)
    {
        foreach (var selector in Selectors)
        {
            if (selector.Matches(sequence, topics))
            {
                return true;
            }
        }

        return false;
    }
}
