namespace RawSse.Http;

/// <summary>
/// The route table: an exact path to its handler, a prefix (written <c>/path/*</c>) to the handler of everything under
/// it, and a fallback for every other path (the static files). Adding an
/// endpoint is one handler and one line where the server builds the table. Every request's Host is checked first
/// (<see cref="HostPolicy"/>: 421 and a close).
/// </summary>
internal sealed class Router(IHttpHandler fallback, HostPolicy hosts)
{
    private const int MaxDrainedBodyBytes = 64 * 1024;

    private readonly Dictionary<string, IHttpHandler> _routes = new(StringComparer.Ordinal);
    private readonly List<(string Prefix, IHttpHandler Handler)> _prefixes = [];

    public IHttpHandler this[string path]
    {
        init
        {
            if (path.EndsWith("/*", StringComparison.Ordinal))
            {
                _prefixes.Add((path[..^1], value));
                _routes.Add(path[..^2], value);
            }
            else
            {
                _routes.Add(path, value);
            }
        }
    }

    public IHttpHandler Find(string path)
    {
        if (_routes.TryGetValue(path, out var handler))
        {
            return handler;
        }

        foreach (var (prefix, prefixed) in _prefixes)
        {
            if (path.StartsWith(prefix, StringComparison.Ordinal))
            {
                return prefixed;
            }
        }

        return fallback;
    }

    /// <summary>Hands the request to its handler, once the method and the body are checked against what the handler declares.</summary>
    public ValueTask<ExchangeResult> DispatchAsync(HttpExchange exchange)
    {
        var request = exchange.Request;
        if (!hosts.Allows(request.Host))
        {
            return ValueTask.FromResult(exchange.RefuseAndClose(421, "a Host this server does not answer to"));
        }

        var handler = Find(request.Path);
        bool allowed = handler.Allows(request.Method);
        if (!(allowed && handler.TakesBody(request.Method)) && request.HasBody)
        {
            return DrainThenDispatchAsync(exchange, handler, allowed);
        }

        return allowed ? handler.HandleAsync(exchange) : ValueTask.FromResult(exchange.Respond(405, "Allow"u8, handler.Allow));
    }

    // Nothing else reads this body: a small one is drained so it is never read as the next request.
    private static async ValueTask<ExchangeResult> DrainThenDispatchAsync(HttpExchange exchange, IHttpHandler handler, bool allowed)
    {
        if (exchange.Request.ContentLength > MaxDrainedBodyBytes)
        {
            return exchange.RefuseAndClose(413, "request body too large");
        }

        var drained = await exchange.ReadBodyAsync(into: null, MaxDrainedBodyBytes).ConfigureAwait(false);
        if (drained.End != BodyReadEnd.Complete)
        {
            return exchange.CloseAfter(drained);
        }

        return allowed ? await handler.HandleAsync(exchange).ConfigureAwait(false) : exchange.Respond(405, "Allow"u8, handler.Allow);
    }
}
