using RawSse.Http;

namespace RawSse.Metrics;

/// <summary><c>GET /metrics</c>: the server's figures as Prometheus text.</summary>
internal sealed class MetricsHandler(ServerMetrics metrics) : IHttpHandler
{
    public string Allow => "GET, HEAD";

    public bool TakesBody(RequestMethod method) => false;

    public bool Allows(RequestMethod method) => method is RequestMethod.Get or RequestMethod.Head;

    public ValueTask<ExchangeResult> HandleAsync(HttpExchange exchange) =>
        ValueTask.FromResult(exchange.RespondText(200, metrics.ToPrometheusText(), "text/plain; version=0.0.4; charset=utf-8"));
}
