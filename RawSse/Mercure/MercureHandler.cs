using RawSse.Http;

namespace RawSse.Mercure;

/// <summary>
/// Mercure's hub URL, <c>/.well-known/mercure</c> (Mercure, "Discovery": the hub URL "MUST be the well-known fixed
/// path"): <c>GET</c> subscribes and <c>POST</c> publishes, with the same handlers, and so the same rules, as the
/// native <c>/sse</c> and <c>/publish</c>.
/// </summary>
internal sealed class MercureHandler(IHttpHandler subscribe, IHttpHandler publish) : IHttpHandler
{
    public const string Path = "/.well-known/mercure";

    public string Allow => $"{subscribe.Allow}, {publish.Allow}";

    public bool TakesBody(RequestMethod method) => Route(method).TakesBody(method);

    public bool Allows(RequestMethod method) => subscribe.Allows(method) || publish.Allows(method);

    public ValueTask<ExchangeResult> HandleAsync(HttpExchange exchange) => Route(exchange.Request.Method).HandleAsync(exchange);

    private IHttpHandler Route(RequestMethod method) => subscribe.Allows(method) ? subscribe : publish;
}
