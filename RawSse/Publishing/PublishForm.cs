using Microsoft.Extensions.Logging;
using RawSse.Auth;
using RawSse.Http;
using RawSse.Sse;
using RawSse.Store;

namespace RawSse.Publishing;

/// <summary>
/// A publish body: Mercure's form fields (<c>topic</c> repeatable, <c>data</c>, <c>private</c>, <c>id</c>, <c>type</c>,
/// <c>retry</c>) in, validated, checked against the publisher's <c>mercure.publish</c> claim (every topic must match one
/// of its selectors, else 403), and published to the hub; the event's id (or why not) out. An event whose frame would be larger than
/// <c>maxEventBytes</c> (a subscriber's queue limit) is refused with 413: no subscriber is ever cut for one event.
/// </summary>
internal sealed class PublishForm(Hub hub, long maxEventBytes, RateLimitedLog storeLog)
{
    /// <summary>Topics under this path are the hub's own subscription events (Mercure, "Active Subscriptions").</summary>
    public const string ReservedTopicPrefix = "/.well-known/mercure/subscriptions";

    /// <summary>Validates the form and publishes. Returns the status and the text/plain body (the id, or why not).</summary>
    /// <param name="publisher">What the publisher's token allows; its <c>mercure.publish</c> selectors are not empty.</param>
    public async ValueTask<(int Status, string Body)> PublishAsync(HttpRequest request, ReadOnlyMemory<byte> body, TokenClaims publisher)
    {
        var (status, text, ev) = Read(request, body.Span, publisher);
        if (ev is null)
        {
            return (status, text);
        }

        try
        {
            return (200, await hub.PublishInlineAsync(ev.Topics, ev.Event, ev.IsPrivate).ConfigureAwait(false));
        }
        catch (TopicLimitException ex)
        {
            return (503, ex.Message + "\n");
        }
        catch (EventTooLargeException ex)
        {
            return (413, ex.Message + "\n");
        }
        catch (EventLogUnavailableException ex)
        {
            // The store failed (disk full, locked): nothing was published, every stream stays open, and the store
            // recovers by itself; the publisher retries. Logged at most once a minute.
            storeLog.Write(LogLevel.Error, "a publish was refused with 503: the event store is unavailable: {Reason}", ex.Message);
            return (503, "the event store is unavailable; retry later\n");
        }
    }

    // The form, checked: an error (status and text), or the event to publish.
    private (int Status, string Body, NewEvent? Event) Read(HttpRequest request, ReadOnlySpan<byte> body, TokenClaims publisher)
    {
        if (!IsFormContentType(request.ContentType))
        {
            return (415, "Content-Type must be application/x-www-form-urlencoded\n", null);
        }

        var fields = new List<KeyValuePair<string, string>>();
        if (!FormParser.TryParse(body, fields, out var problem))
        {
            return (400, problem + "\n", null);
        }

        var topics = new List<string>();
        string? data = null, id = null, type = null, retryText = null;
        bool isPrivate = false;
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
                case "private":
                    isPrivate = true; // Mercure: present at all, whatever its value ("on" is recommended)
                    break;
            }
        }

        if (topics.Count == 0)
        {
            return (400, "field 'topic' is missing: name at least one topic\n", null);
        }

        if (topics.Count > Hub.MaxTopicsPerEvent)
        {
            return (400, $"field 'topic' is given {topics.Count} times: at most {Hub.MaxTopicsPerEvent} topics\n", null);
        }

        foreach (var topic in topics)
        {
            if (!Hub.IsValidTopic(topic))
            {
                return (400, "field 'topic': a topic is 1 to 256 characters, with no control characters\n", null);
            }
        }

        foreach (var topic in topics)
        {
            if (topic.StartsWith(ReservedTopicPrefix, StringComparison.Ordinal))
            {
                return (403, $"field 'topic': topics under {ReservedTopicPrefix} are the hub's own\n", null);
            }

            if (!SelectorCache.AnyMatches(publisher.Publish!, topic))
            {
                return (403, "field 'topic': the token may not publish to one of these topics\n", null);
            }
        }

        if (!SseEvent.IsValidField(id))
        {
            return (400, "field 'id' must not contain CR, LF or NUL\n", null);
        }

        if (!SseEvent.IsValidField(type))
        {
            return (400, "field 'type' must not contain CR, LF or NUL\n", null);
        }

        if (type is Hub.ResetType or Ticker.EventType)
        {
            return (400, $"field 'type': '{type}' is reserved for the server's own events\n", null);
        }

        int? retry = null;
        if (retryText is not null)
        {
            // The spec's retry field is ASCII digits only.
            if (retryText.Length is 0 or > 9 || !retryText.All(char.IsAsciiDigit))
            {
                return (400, "field 'retry' must be 1 to 9 ASCII digits\n", null);
            }

            retry = int.Parse(retryText, System.Globalization.CultureInfo.InvariantCulture);
        }

        var ev = new SseEvent(data ?? "", type, id, retry);
        if (SseFrames.MaxEncodedLength(ev, id?.Length ?? MaxAssignedIdLength) > maxEventBytes)
        {
            return (413, $"the event is larger than a subscriber's queue ({maxEventBytes} bytes once framed)\n", null);
        }

        return (0, "", new NewEvent(topics, ev, isPrivate));
    }

    // "<8-character epoch>-<sequence>": 9 + at most 19 digits.
    private const int MaxAssignedIdLength = 28;

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
