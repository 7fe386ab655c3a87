using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using RawSse.Sse;

namespace RawSse.Auth;

/// <summary>What a topic selector is: every topic, one exact topic, or a URI Template.</summary>
internal enum SelectorKind
{
    Any,
    Exact,
    Template,
}

/// <summary>
/// A Mercure topic selector (The Mercure Protocol §3: "an expression intended to be matched by one or several
/// topics"): <c>*</c> matches every topic, a URI Template (RFC 6570) the topics some assignment of its variables
/// expands to (see <see cref="UriTemplatePattern"/>), and any other string only itself. As in Mercure
/// (dunglas/mercure topic_selector.go: "Always do an exact matching comparison first"), a selector equal to the
/// topic always matches, and text that is not a valid template is an exact topic.
/// </summary>
internal sealed class TopicSelector
{
    /// <summary>The longest selector accepted, the same as a topic.</summary>
    public const int MaxLength = Hub.MaxTopicLength;

    private const string AnyText = "*";

    private static readonly TopicSelector s_any = new(AnyText, SelectorKind.Any, pattern: null);

    private readonly UriTemplatePattern? _pattern;

    private TopicSelector(string text, SelectorKind kind, UriTemplatePattern? pattern)
    {
        Debug.Assert((kind == SelectorKind.Template) == (pattern is not null));
        Text = text;
        Kind = kind;
        _pattern = pattern;
    }

    public string Text { get; }

    public SelectorKind Kind { get; }

    /// <summary>Reads a selector: <c>*</c>, a URI Template with at least one expression, or else an exact topic.</summary>
    /// <exception cref="ArgumentException"><see cref="IsValid"/> refuses <paramref name="text"/>.</exception>
    public static TopicSelector Parse(string text)
    {
        if (!IsValid(text))
        {
            throw new ArgumentException($"a topic selector is 1 to {MaxLength} characters with no control characters", nameof(text));
        }

        if (text == AnyText)
        {
            return s_any;
        }

        return UriTemplatePattern.TryCompile(text, out var pattern)
            ? new TopicSelector(text, SelectorKind.Template, pattern)
            : new TopicSelector(text, SelectorKind.Exact, pattern: null);
    }

    /// <summary>1 to <see cref="MaxLength"/> characters with no C0, DEL or C1 control character: the rule for a topic.</summary>
    public static bool IsValid([NotNullWhen(true)] string? text) => Hub.IsValidTopic(text);

    public bool Matches(string topic)
    {
        ArgumentNullException.ThrowIfNull(topic);
        return Kind switch
        {
            SelectorKind.Any => true,
            SelectorKind.Exact => string.Equals(Text, topic, StringComparison.Ordinal),
            _ => string.Equals(Text, topic, StringComparison.Ordinal) || _pattern!.IsMatch(topic),
        };
    }

    public override string ToString() => Text;
}
