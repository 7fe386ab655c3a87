using System.Text;
using System.Text.Json;

namespace RawSse.Sse;

/// <summary>
/// One topic selector of one subscriber, as Mercure's active-subscriptions feature shows it (Mercure, "Active
/// Subscriptions"): its IRI is <c>/.well-known/mercure/subscriptions/{topic}/{subscriber}</c> expanded per RFC 6570
/// (each part percent-encoded but for unreserved characters), and its JSON-LD document names the selector, the
/// subscriber, whether it is active, and the token's <c>mercure.payload</c>.
/// </summary>
internal readonly record struct ActiveSubscription(string Selector, string Subscriber, string? Payload, bool Active)
{
    public const string Prefix = "/.well-known/mercure/subscriptions";
    public const string Context = "https://mercure.rocks/";

    /// <summary>The subscription's IRI, which is also the topic of its events.</summary>
    public string Topic => $"{Prefix}/{Uri.EscapeDataString(Selector)}/{Uri.EscapeDataString(Subscriber)}";

    /// <summary>The subscription's JSON-LD: with <c>@context</c> when it stands alone, and <c>lastEventID</c> when given.</summary>
    public string ToJson(bool withContext = true, string? lastEventId = null)
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream))
        {
            Write(json, withContext, lastEventId);
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    public void Write(Utf8JsonWriter json, bool withContext, string? lastEventId = null)
    {
        json.WriteStartObject();
        if (withContext)
        {
            json.WriteString("@context", Context);
        }

        json.WriteString("id", Topic);
        json.WriteString("type", "Subscription");
        json.WriteString("topic", Selector);
        json.WriteString("subscriber", Subscriber);
        json.WriteBoolean("active", Active);
        if (Payload is not null)
        {
            json.WritePropertyName("payload");
            json.WriteRawValue(Payload, skipInputValidation: true); // the token's own JSON, already parsed once
        }

        if (lastEventId is not null)
        {
            json.WriteString("lastEventID", lastEventId);
        }

        json.WriteEndObject();
    }
}
