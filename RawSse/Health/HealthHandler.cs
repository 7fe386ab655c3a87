using RawSse.Http;
using RawSse.Sse;
using RawSse.Store;

namespace RawSse.Health;

/// <summary>
/// A probe for a load balancer or an orchestrator, <c>GET</c> or <c>HEAD</c>: <c>/healthz</c> answers 200 whenever the
/// process serves requests (live), and <c>/readyz</c> answers 200 unless the hub's log is shared with other nodes
/// (<see cref="IEventLogStatus"/>) and this node is not connected to it or not caught up: then 503 with
/// <c>Retry-After</c> and the reason. Neither may be cached. The router's Host check applies as to every route.
/// </summary>
internal sealed class HealthHandler : IHttpHandler
{
    private const string ContentType = "text/plain; charset=utf-8";

    private readonly string _answer;
    private readonly Func<string?> _unready;

    private HealthHandler(string answer, Func<string?> unready)
    {
        _answer = answer;
        _unready = unready;
    }

    public string Allow => "GET, HEAD";

    /// <summary><c>/healthz</c>: answering at all is the whole check.</summary>
    public static HealthHandler Liveness() => new("ok\n", static () => null);

    /// <summary><c>/readyz</c>: ready unless <paramref name="hub"/>'s log says this node should not take traffic yet.</summary>
    public static HealthHandler Readiness(Hub hub) => new("ready\n", () => hub.Log is IEventLogStatus { IsReady: false } status
        ? $"store not connected or catching up (lag {status.Lag})\n"
        : null);

    public bool TakesBody(RequestMethod method) => false;

    public bool Allows(RequestMethod method) => method is RequestMethod.Get or RequestMethod.Head;

    public ValueTask<ExchangeResult> HandleAsync(HttpExchange exchange) =>
        ValueTask.FromResult(_unready() is { } reason
            ? exchange.RespondText(503, reason, ContentType, "Retry-After"u8, "1")
            : exchange.RespondText(200, _answer, ContentType));
}
