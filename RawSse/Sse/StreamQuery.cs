using RawSse.Auth;
using RawSse.Http;

namespace RawSse.Sse;

/// <summary>
/// What a stream request asks for: <c>?topic=</c> selectors, repeated (an exact topic, a URI template or <c>*</c>;
/// none: the default topic, or a 400 on Mercure's endpoint), the id to resume after, from <c>Last-Event-ID</c> or, for
/// clients that cannot set headers, <c>?lastEventID=</c> (Mercure's spelling) or <c>?lastEventId=</c> (the header wins),
/// and a token in <c>?authorization=</c>.
/// </summary>
internal sealed class StreamQuery
{
    public const int MaxTopicsPerStream = 32;
    public const int MaxLastEventIdLength = 1024;
    private static readonly string[] s_defaultTopics = [Hub.DefaultTopic];

    private StreamQuery(string[] topics, TopicSelector[] patterns, string? lastEventId, string? token)
    {
        Topics = topics;
        Patterns = patterns;
        LastEventId = lastEventId;
        Token = token;
    }

    /// <summary>The exact topics.</summary>
    public string[] Topics { get; }

    /// <summary>The templates and <c>*</c>.</summary>
    public TopicSelector[] Patterns { get; }

    public string? LastEventId { get; }

    public string? Token { get; }

    /// <summary>Every selector asked for, as given.</summary>
    public IEnumerable<string> Selectors => Topics.Concat(Patterns.Select(p => p.Text));

    /// <summary>Null for a malformed query, a bad selector or too many (or none where one is required). An over-long id is kept only as "not found" (a reset), never echoed.</summary>
    public static StreamQuery? TryRead(HttpRequest request, bool requireTopic = false)
    {
        string? lastEventId = request.LastEventId;
        string? token = null;
        var named = new List<string>();
        if (request.Query.Length > 0)
        {
            var fields = new List<KeyValuePair<string, string>>();
            if (!FormParser.TryParse(request.Query, fields))
            {
                return null;
            }

            foreach (var (name, value) in fields)
            {
                switch (name)
                {
                    case "topic":
                        if (!TopicSelector.IsValid(value))
                        {
                            return null;
                        }

                        if (!named.Contains(value))
                        {
                            if (named.Count == MaxTopicsPerStream)
                            {
                                return null;
                            }

                            named.Add(value);
                        }

                        break;
                    case "lastEventID" or "lastEventId":
                        lastEventId ??= value;
                        break;
                    case TokenSource.QueryParameter:
                        token ??= value;
                        break;
                }
            }
        }

        if (named.Count == 0 && requireTopic)
        {
            return null;
        }

        if (lastEventId is { Length: > MaxLastEventIdLength })
        {
            // No event can carry this id (SseEvent refuses LF), so the lookup misses and the stream gets a reset.
            lastEventId = "\n";
        }

        if (named.Count == 0)
        {
            return new StreamQuery(s_defaultTopics, [], lastEventId, token);
        }

        var topics = new List<string>(named.Count);
        var patterns = new List<TopicSelector>();
        foreach (var text in named)
        {
            if (SelectorCache.MayBePattern(text) && SelectorCache.Get(text) is { Kind: not SelectorKind.Exact } selector)
            {
                patterns.Add(selector);
            }
            else
            {
                topics.Add(text);
            }
        }

        return new StreamQuery([.. topics], [.. patterns], lastEventId, token);
    }
}
