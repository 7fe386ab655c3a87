using System.Text;
using System.Text.Json;
using RawSse.Auth;
using RawSse.Http;
using RawSse.Sse;

namespace RawSse.Mercure;

/// <summary>
/// Mercure's subscriptions API (Mercure, "Active Subscriptions"): <c>GET /.well-known/mercure/subscriptions</c>, with an
/// optional <c>/{topic}</c> and <c>/{subscriber}</c> (each percent-encoded), answers the live subscriptions as JSON-LD,
/// with the id of the newest event as <c>lastEventID</c>. Only to a token whose <c>mercure.subscribe</c> claim matches
/// the requested path (401 without a token, 403 with one that does not match); 404 when the hub shows no
/// subscriptions, for a malformed path, or for a single subscription that is not live.
/// </summary>
internal sealed class SubscriptionsHandler(Hub hub, SubscribeAuthorizer authorizer, CrossOriginPolicy crossOrigin) : IHttpHandler
{
    public string Allow => "GET, HEAD";

    public bool TakesBody(RequestMethod method) => false;

    public bool Allows(RequestMethod method) => method is RequestMethod.Get or RequestMethod.Head;

    public async ValueTask<ExchangeResult> HandleAsync(HttpExchange exchange)
    {
        var request = exchange.Request;
        exchange.ExtraHeaders = crossOrigin.ResponseHeaders(request);
        if (!hub.PublishesSubscriptions || !TryReadPath(request.Path, out string? topic, out string? subscriber))
        {
            return exchange.Refuse(404);
        }

        string? token = null;
        if (request.Query.Length > 0)
        {
            var fields = new List<KeyValuePair<string, string>>();
            if (FormParser.TryParse(request.Query, fields))
            {
                token = fields.FirstOrDefault(f => f.Key == TokenSource.QueryParameter).Value;
            }
        }

        var auth = await authorizer.AuthorizeAsync(request, token).ConfigureAwait(false);
        if (!auth.Allowed || auth.Claims is null)
        {
            return auth.Status == 403
                ? exchange.RefuseAndClose(403, auth.Reason)
                : exchange.RefuseAndClose(401, auth.Allowed ? "subscriptions without a token" : auth.Reason, "WWW-Authenticate"u8, "Bearer");
        }

        // "The requested URL MUST match at least one of the topic selectors provided in the mercure.subscribe key."
        if (auth.Claims.Subscribe is not { } claim || !SelectorCache.AnyMatches(claim, request.Path))
        {
            return exchange.RefuseAndClose(403, "subscriptions with a token whose claim does not match");
        }

        string lastEventId = hub.LastEventId;
        var all = hub.ActiveSubscriptions()
            .Where(s => (topic is null || s.Selector == topic) && (subscriber is null || s.Subscriber == subscriber))
            .OrderBy(s => s.Subscriber, StringComparer.Ordinal).ThenBy(s => s.Selector, StringComparer.Ordinal)
            .ToList();
        string json;
        if (subscriber is not null)
        {
            if (all.Count == 0)
            {
                return exchange.Refuse(404);
            }

            json = all[0].ToJson(withContext: true, lastEventId);
        }
        else
        {
            json = Collection(request.Path, all, lastEventId);
        }

        return exchange.RespondText(200, json, "application/ld+json");
    }

    private static string Collection(string path, List<ActiveSubscription> subscriptions, string lastEventId)
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream))
        {
            json.WriteStartObject();
            json.WriteString("@context", ActiveSubscription.Context);
            json.WriteString("id", path);
            json.WriteString("type", "Subscriptions");
            json.WriteString("lastEventID", lastEventId);
            json.WriteStartArray("subscriptions");
            foreach (var subscription in subscriptions)
            {
                subscription.Write(json, withContext: false);
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    // "/.well-known/mercure/subscriptions", then at most two percent-encoded segments: the selector, the subscriber.
    private static bool TryReadPath(string path, out string? topic, out string? subscriber)
    {
        topic = subscriber = null;
        var rest = path.AsSpan(ActiveSubscription.Prefix.Length);
        if (rest.IsEmpty)
        {
            return true;
        }

        if (rest[0] != '/')
        {
            return false;
        }

        var parts = rest[1..].ToString().Split('/');
        if (parts.Length > 2 || parts.Any(p => p.Length == 0))
        {
            return false;
        }

        topic = Uri.UnescapeDataString(parts[0]);
        subscriber = parts.Length == 2 ? Uri.UnescapeDataString(parts[1]) : null;
        return true;
    }
}
