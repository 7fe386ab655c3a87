using Microsoft.Extensions.Logging;
using RawSse.Http;

namespace RawSse.Sse;

/// <summary>
/// <c>GET /sse</c>: reads the stream query (400), counts the stream against its address's cap (429), joins the hub
/// (503 past its topic limit), and hands the connection over to the <see cref="Subscriber"/>, whose first frame is the
/// response head. HEAD answers the head alone.
/// </summary>
internal sealed class StreamHandler(Hub hub, StreamLeases leases, SubscriberLimits limits, long retryMs, string? allowOrigin, ILogger log) : IHttpHandler
{
    public string Allow => "GET, HEAD";

    public bool TakesBody => false;

    public bool Allows(RequestMethod method) => method is RequestMethod.Get or RequestMethod.Head;

    public async ValueTask<ExchangeResult> HandleAsync(HttpExchange exchange)
    {
        if (!StreamQuery.TryRead(exchange.Request, out var topics, out var lastEventId))
        {
            return exchange.Refuse(400);
        }

        if (exchange.HeadOnly)
        {
            SseFrames.WriteStreamHeaders(exchange.Output, allowOrigin);
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

        // The head is queued first, so nothing can come before it; the subscriber joins (a replay queues behind the
        // head), and the connection sends it all once it has handed its send side over.
        var subscriber = new Subscriber(exchange.StreamSink, topics, limits, hub, lease);
        subscriber.EnqueueExempt([SseFrames.StreamHead(retryMs, allowOrigin)]);
        if (!hub.TrySubscribe(subscriber, lastEventId))
        {
            lease.Dispose();
            return exchange.Refuse(503, "Retry-After"u8, "5");
        }

        if (log.IsEnabled(LogLevel.Debug))
        {
            log.LogDebug("connection {Id} ({Remote}) subscribed to {Topics}; subscribers={Count}",
                exchange.ConnectionId, exchange.Remote, string.Join(',', topics), hub.SubscriberCount);
        }

        return ExchangeResult.Streaming(subscriber);
    }
}
