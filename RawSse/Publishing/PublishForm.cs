using RawSse.Http;
using RawSse.Sse;

namespace RawSse.Publishing;

/// <summary>
/// A publish body: Mercure's form fields (<c>topic</c> repeatable, <c>data</c>, <c>id</c>, <c>type</c>, <c>retry</c>)
/// in, validated, and published to the hub; the event's id (or why not) out.
/// </summary>
internal sealed class PublishForm(Hub hub)
{
    /// <summary>Validates the form and publishes. Returns the status and the text/plain body (the id, or why not).</summary>
    public (int Status, string Body) Publish(HttpRequest request, ReadOnlySpan<byte> body)
    {
        if (!IsFormContentType(request.ContentType))
        {
            return (415, "Content-Type must be application/x-www-form-urlencoded\n");
        }

        var fields = new List<KeyValuePair<string, string>>();
        if (!FormParser.TryParse(body, fields))
        {
            return (400, "malformed form body\n");
        }

        var topics = new List<string>();
        string? data = null, id = null, type = null, retryText = null;
        foreach (var (name, value) in fields)
        {
            switch (name)
            {
                case "topic":
                    topics.Add(value);
                    break;
                case "data":
                    data = value;
                    break;
                case "id":
                    id = value.Length == 0 ? null : value;
                    break;
                case "type":
                    type = value.Length == 0 ? null : value;
                    break;
                case "retry":
                    retryText = value;
                    break;
            }
        }

        if (topics.Count == 0)
        {
            return (400, "missing topic\n");
        }

        foreach (var topic in topics)
        {
            if (!Hub.IsValidTopic(topic))
            {
                return (400, "invalid topic: 1 to 256 characters, no control characters\n");
            }
        }

        if (!SseEvent.IsValidField(id) || !SseEvent.IsValidField(type))
        {
            return (400, "id and type must not contain CR, LF or NUL\n");
        }

        int? retry = null;
        if (retryText is not null)
        {
            // The spec's retry field is ASCII digits only.
            if (retryText.Length is 0 or > 9 || !retryText.All(char.IsAsciiDigit))
            {
                return (400, "retry must be 1 to 9 ASCII digits\n");
            }

            retry = int.Parse(retryText, System.Globalization.CultureInfo.InvariantCulture);
        }

        string eventId = hub.Publish(topics, new SseEvent(data ?? "", type, id, retry));
        return (200, eventId);
    }

    private static bool IsFormContentType(string? contentType)
    {
        if (contentType is null)
        {
            return false;
        }

        var mediaType = contentType.AsSpan();
        int semicolon = mediaType.IndexOf(';');
        if (semicolon >= 0)
        {
            mediaType = mediaType[..semicolon];
        }

        return mediaType.Trim().Equals("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase);
    }
}
