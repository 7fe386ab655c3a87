namespace RawSse.Http;

/// <summary>
/// One endpoint. The connection checks the method and the body against what the handler declares before it calls
/// <see cref="HandleAsync"/>: a method the handler does not allow gets 405 with <see cref="Allow"/>, and a body on a
/// request the handler does not read is drained (or refused) so it is never parsed as the next request.
/// </summary>
internal interface IHttpHandler
{
    /// <summary>The value of <c>Allow</c> on a 405.</summary>
    string Allow { get; }

    /// <summary>Whether the handler reads the body of a request with <paramref name="method"/> (it must then read all of it, or close).</summary>
    bool TakesBody(RequestMethod method);

    bool Allows(RequestMethod method);

    /// <summary>Writes the response into the exchange and says how the connection goes on.</summary>
    ValueTask<ExchangeResult> HandleAsync(HttpExchange exchange);
}
