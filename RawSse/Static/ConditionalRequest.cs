using RawSse.Http;

namespace RawSse.Static;

/// <summary>Whether a GET or HEAD may be answered 304 Not Modified.</summary>
internal static class ConditionalRequest
{
    // RFC 9110 §13.1.2/§13.1.3 and §13.2.2: If-None-Match wins over If-Modified-Since; weak comparison for GET.
    public static bool IsNotModified(HttpRequest request, StaticFile file)
    {
        if (request.IfNoneMatch is { } ifNoneMatch)
        {
            foreach (var range in ifNoneMatch.AsSpan().Split(','))
            {
                var tag = ifNoneMatch.AsSpan()[range].Trim();
                if (tag.StartsWith("W/", StringComparison.Ordinal))
                {
                    tag = tag[2..];
                }

                if (tag.SequenceEqual("*") || tag.SequenceEqual(file.ETag))
                {
                    return true;
                }
            }

            return false;
        }

        return HttpDate.TryParse(request.IfModifiedSince, out var since) && file.LastModified <= since;
    }
}
