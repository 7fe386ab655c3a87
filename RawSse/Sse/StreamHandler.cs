using Microsoft.Extensions.Logging;
using RawSse.Auth;
using RawSse.Http;
using RawSse.Store;

namespace RawSse.Sse;

/// <summary>
/// <c>GET /sse</c> and Mercure's <c>GET /.well-known/mercure</c>: reads the stream query (400), authorizes the
/// subscriber from its token (401, 403), counts the stream against its address's cap (429), joins the hub (503 past
/// its topic or selector limit), and hands the connection over to the <see cref="Subscriber"/>, whose first frame is
/// the response head. HEAD answers the head alone. An origin in <c>--cors-origins</c> gets its own CORS grant with
/// credentials; any other the stream's <c>--allow-origin</c>.
/// </summary>
internal sealed class StreamHandler(Hub hub, StreamLeases leases, SubscriberLimits limits, StreamHandler.Settings settings,
    SubscribeAuthorizer authorizer, CrossOriginPolicy crossOrigin, ILogger log) : IHttpHandler
{
    /// <param name="RequireTopic">Mercure's endpoint: a stream names at least one topic selector (else 400).</param>
    internal sealed record Settings(long RetryMs, string? AllowOrigin, bool RequireTopic = false);

    public string Allow => "GET, HEAD";

    public bool TakesBody(RequestMethod method) => false;

    public bool Allows(RequestMethod method) => method is RequestMethod.Get or RequestMethod.Head;

    public async ValueTask<ExchangeResult> HandleAsync(HttpExchange exchange)
    {
        var request = exchange.Request;
        var cors = crossOrigin.ResponseHeaders(request);
        exchange.ExtraHeaders = cors;
        if (StreamQuery.TryRead(request, settings.RequireTopic) is not { } query)
        {
            return exchange.Refuse(400);
        }

        var auth = await authorizer.AuthorizeAsync(request, query.Token).ConfigureAwait(false);
        if (!auth.Allowed)
        {
            // Counted and logged (at a bounded rate) like any refusal, and the connection closes: an EventSource gives up on it.
            return auth.Status == 401
                ? exchange.RefuseAndClose(401, auth.Reason, "WWW-Authenticate"u8, "Bearer")
                : exchange.RefuseAndClose(auth.Status, auth.Reason);
        }

        if (exchange.HeadOnly)
        {
            SseFrames.WriteStreamHeaders(exchange.Output, cors is null ? settings.AllowOrigin : null, cors, lastEventId: null);
            exchange.EndHead();
            return ExchangeResult.Continue;
        }

        if (!leases.TryAcquire(exchange.RemoteAddress, out var lease))
        {
            return exchange.Refuse(429, "Retry-After"u8, "5");
        }

        try
        {
            if (exchange.Output.UnflushedBytes > 0)
            {
                await exchange.FlushAsync().ConfigureAwait(false); // answers to requests pipelined before this one go first
            }
        }
        catch
        {
            lease.Dispose();
            throw;
        }

        // The head is queued first, under the hub's lock, so nothing can come before it; the subscriber joins (a replay
        // queues behind the head), and the connection sends it all once it has handed its send side over.
        var subscriber = new Subscriber(exchange.StreamSink, query.Topics, limits, hub, lease) { Patterns = query.Patterns, Claims = auth.Claims };
        string? allowOrigin = cors is null ? settings.AllowOrigin : null;
        bool joined;
        try
        {
            joined = await hub.SubscribeAsync(subscriber, query.LastEventId, preceding => SseFrames.StreamHead(settings.RetryMs, allowOrigin, cors, preceding)).ConfigureAwait(false);
        }
        catch (EventLogUnavailableException)
        {
            joined = false; // the log could not be read for this resume: the client retries, as past a limit
        }

        if (!joined)
        {
            lease.Dispose();
            return exchange.Refuse(503, "Retry-After"u8, "5");
        }

        if (log.IsEnabled(LogLevel.Debug))
        {
            // The selectors, never the query: it may hold a token.
            log.LogDebug("connection {Id} ({Remote}) subscribed to {Topics} ({Who}); subscribers={Count}",
                exchange.ConnectionId, exchange.Remote, string.Join(',', query.Selectors), auth.Claims is null ? "anonymous" : "token", hub.SubscriberCount);
        }

        return ExchangeResult.Streaming(subscriber);
    }
}
