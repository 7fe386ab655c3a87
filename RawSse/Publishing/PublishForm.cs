using System.Buffers;
using System.Text;
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

    /// <summary>
    /// Reads and validates the form where it lies (a body in several buffers is first gathered into one pooled array):
    /// an error (status and text), or the event to publish, which holds nothing of <paramref name="body"/>.
    /// </summary>
    /// <param name="publisher">What the publisher's token allows; its <c>mercure.publish</c> selectors are not empty.</param>
    public (int Status, string Body, NewEvent? Event) Read(HttpRequest request, in ReadOnlySequence<byte> body, TokenClaims publisher)
    {
        if (body.IsSingleSegment)
        {
            return Read(request, body.FirstSpan, publisher);
        }

        var gathered = ArrayPool<byte>.Shared.Rent(checked((int)body.Length));
        try
        {
            body.CopyTo(gathered);
            return Read(request, gathered.AsSpan(0, (int)body.Length), publisher);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(gathered);
        }
    }

    /// <summary>Publishes an event <see cref="Read"/> made. Returns the status and the text/plain body (the id, or why not).</summary>
    public async ValueTask<(int Status, string Body)> PublishAsync(NewEvent ev)
    {
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

        var form = default(PublishFields);
        if (!form.TryRead(body, out var problem))
        {
            return (400, problem + "\n", null);
        }

        var topics = form.Topics;
        string? id = form.Id, type = form.Type, retryText = form.RetryText;
        if (topics.Count == 0)
        {
            return (400, "field 'topic' is missing: name at least one topic\n", null);
        }

        if (topics.Count > Hub.MaxTopicsPerEvent)
        {
            return (400, $"field 'topic' is given {topics.Count} times: at most {Hub.MaxTopicsPerEvent} topics\n", null);
        }

        for (int i = 0; i < topics.Count; i++) // indexed: a foreach over the interface would allocate an enumerator
        {
            if (!Hub.IsValidTopic(topics[i]))
            {
                return (400, "field 'topic': a topic is 1 to 256 characters, with no control characters\n", null);
            }
        }

        for (int i = 0; i < topics.Count; i++)
        {
            string topic = topics[i];
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
            if (retryText.Length is 0 or > 9 || retryText.AsSpan().ContainsAnyExceptInRange('0', '9'))
            {
                return (400, "field 'retry' must be 1 to 9 ASCII digits\n", null);
            }

            retry = int.Parse(retryText, System.Globalization.CultureInfo.InvariantCulture);
        }

        // Measured before anything is allocated for it; then decoded once, straight into its frame.
        var shape = SseFrames.MeasureFormData(form.Data);
        if (SseFrames.FormFrameLength(shape, type, id is null ? MaxAssignedIdLength : Encoding.UTF8.GetByteCount(id), retry) > maxEventBytes)
        {
            return (413, $"the event is larger than a subscriber's queue ({maxEventBytes} bytes once framed)\n", null);
        }

        if (SseFrames.EncodeFormData(form.Data, shape, type, id, retry, hub.Epoch, id is null ? hub.NextIdDigits : 0) is not { } ev)
        {
            return (400, "field 'data': its value is not UTF-8 once decoded\n", null);
        }

        return (0, "", new NewEvent(topics, ev, form.IsPrivate));
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
