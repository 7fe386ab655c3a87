using System.Buffers;
using RawSse.Auth;
using RawSse.Http;
using RawSse.Store;

namespace RawSse.Publishing;

/// <summary>
/// <c>POST /publish</c>, the whole exchange: a page of another origin gets 403 and a close (see
/// <see cref="CrossOriginPolicy"/>; an allowed origin's preflight is answered), a body over the limit 413 and a close, an unauthorised request 401
/// or 403 and a close (decided from the head, before any of the body is read), then the form is read as it arrives,
/// validated and published (400 or 415 when it cannot be), and the answer is the event's id.
/// </summary>
internal sealed class PublishHandler(PublishAuthorizer authorizer, CrossOriginPolicy crossOrigin, bool answersPreflights, PublishForm form, int maxBodyBytes)
    : IHttpHandler
{
    // Up to this, a body is parsed where it lies in the connection's pipe (a few of its 4 KiB buffers at most).
    private const int MaxInPlaceBodyBytes = 16 * 1024;

    public string Allow => answersPreflights ? "POST, OPTIONS" : "POST";

    public bool TakesBody(RequestMethod method) => true;

    public bool Allows(RequestMethod method) => method == RequestMethod.Post || (answersPreflights && method == RequestMethod.Options);

    public async ValueTask<ExchangeResult> HandleAsync(HttpExchange exchange)
    {
        var request = exchange.Request;
        if (request.ContentLength > maxBodyBytes)
        {
            return exchange.RefuseAndClose(413, "request body too large");
        }

        if (request.Method == RequestMethod.Options)
        {
            // A preflight: an allowed origin gets the CORS grant; any other gets none, and its browser stops there.
            // A preflight has no body; one that came anyway is dropped, so it is never read as the next request.
            if (request.HasBody && await exchange.ReadBodyAsync(into: null, maxBodyBytes).ConfigureAwait(false) is { End: not BodyReadEnd.Complete } dropped)
            {
                return exchange.CloseAfter(dropped);
            }

            exchange.ExtraHeaders = crossOrigin.PreflightHeaders(request);
            return exchange.RespondNoContent("Allow"u8, Allow);
        }

        exchange.ExtraHeaders = crossOrigin.ResponseHeaders(request);
        if (crossOrigin.IsForbidden(request))
        {
            // A form or fetch from another site's page (CSRF), or a rebinding name: refused before anything is read.
            return exchange.RefuseAndClose(403, "cross-origin publish");
        }

        // Decided from the head: a refused publisher's body is never read into memory, and the connection closes, so
        // it cannot go on guessing on it.
        var auth = await authorizer.AuthorizeAsync(request, exchange.RemoteAddress).ConfigureAwait(false);
        if (!auth.Allowed)
        {
            return auth.Status == 401
                ? exchange.RefuseAndClose(401, auth.Reason, "WWW-Authenticate"u8, "Bearer")
                : exchange.RefuseAndClose(auth.Status, auth.Reason);
        }

        // The form is read where it lies and framed at once; the publish (which may wait for a store) comes after.
        var (read, status, text, ev) = request.Chunked || request.ContentLength > MaxInPlaceBodyBytes
            ? await ReadIntoBufferAsync(exchange, auth.Claims!).ConfigureAwait(false)
            : await ReadInPlaceAsync(exchange, auth.Claims!).ConfigureAwait(false);
        if (read.End != BodyReadEnd.Complete)
        {
            return exchange.CloseAfter(read);
        }

        if (ev is not null)
        {
            (status, text) = await form.PublishAsync(ev).ConfigureAwait(false);
        }

        if (status == 503)
        {
            exchange.CountRejection(status);
            return exchange.RespondText(503, text, "text/plain; charset=utf-8", "Retry-After"u8, "5");
        }

        if (status != 200)
        {
            exchange.CountRejection(status);
        }

        return exchange.RespondText(status, text, "text/plain; charset=utf-8");
    }

    // A small Content-Length body: parsed in the connection's buffer, uncopied.
    private async ValueTask<(BodyRead Read, int Status, string Text, NewEvent? Event)> ReadInPlaceAsync(HttpExchange exchange, TokenClaims publisher)
    {
        var (read, body) = await exchange.ReadWholeBodyAsync().ConfigureAwait(false);
        if (read.End != BodyReadEnd.Complete)
        {
            return (read, 0, "", null);
        }

        try
        {
            var (status, text, ev) = form.Read(exchange.Request, body, publisher);
            return (read, status, text, ev);
        }
        finally
        {
            exchange.ConsumeBody(body);
        }
    }

    // A chunked or large body: taken out of the connection's buffers as it arrives (so they are reused at once, and a
    // body that stops arriving holds only what came), into one array, at most the body limit.
    private async ValueTask<(BodyRead Read, int Status, string Text, NewEvent? Event)> ReadIntoBufferAsync(HttpExchange exchange, TokenClaims publisher)
    {
        using var body = new BodyBuffer(exchange.Request.Chunked ? maxBodyBytes : exchange.Request.ContentLength);
        var read = await exchange.ReadBodyAsync(body, maxBodyBytes).ConfigureAwait(false);
        if (read.End != BodyReadEnd.Complete)
        {
            return (read, 0, "", null);
        }

        var (status, text, ev) = form.Read(exchange.Request, new ReadOnlySequence<byte>(body.Memory), publisher);
        return (read, status, text, ev);
    }
}
