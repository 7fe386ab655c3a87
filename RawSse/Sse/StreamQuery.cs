using RawSse.Http;

namespace RawSse.Sse;

/// <summary>
/// What a stream request asks for: <c>?topic=a&amp;topic=b</c> (none: the default topic), and the id to resume after,
/// from <c>Last-Event-ID</c> or, for clients that cannot set headers, <c>?lastEventId=</c> (the header wins).
/// </summary>
internal static class StreamQuery
{
    public const int MaxTopicsPerStream = 32;
    public const int MaxLastEventIdLength = 1024;
    private static readonly string[] s_defaultTopics = [Hub.DefaultTopic];

    /// <summary>False for a malformed query, a bad topic or too many. An over-long id is kept only as "not found" (a reset), never echoed.</summary>
    public static bool TryRead(HttpRequest request, out string[] topics, out string? lastEventId)
    {
        topics = s_defaultTopics;
        lastEventId = request.LastEventId;
        if (request.Query.Length > 0)
        {
            var fields = new List<KeyValuePair<string, string>>();
            if (!FormParser.TryParse(request.Query, fields))
            {
                return false;
            }

            var named = new List<string>();
            foreach (var (name, value) in fields)
            {
                if (name == "topic")
                {
                    if (!Hub.IsValidTopic(value))
                    {
                        return false;
                    }

                    if (!named.Contains(value))
                    {
                        if (named.Count == MaxTopicsPerStream)
                        {
                            return false;
                        }

                        named.Add(value);
                    }
                }
                else if (name == "lastEventId")
                {
                    lastEventId ??= value;
                }
            }

            if (named.Count > 0)
            {
                topics = [.. named];
            }
        }

        if (lastEventId is { Length: > MaxLastEventIdLength })
        {
            // No event can carry this id (SseEvent refuses LF), so the lookup misses and the stream gets a reset.
            lastEventId = "\n";
        }

        return true;
    }
}
