using System.Buffers;
using RawSse.Http;

namespace RawSse.Publishing;

/// <summary>
/// <c>POST /publish</c>, the whole exchange: a body over the limit gets 413 and a close, an unauthorised request 401
/// or 403 (decided from the head; the body is still read, so the connection stays in step), then the form is read,
/// validated and published (400 or 415 when it cannot be), and the answer is the event's id.
/// </summary>
internal sealed class PublishHandler(PublishAuthorizer authorizer, PublishForm form, int maxBodyBytes) : IHttpHandler
{
    public string Allow => "POST";

    public bool TakesBody => true;

    public bool Allows(RequestMethod method) => method == RequestMethod.Post;

    public async ValueTask<ExchangeResult> HandleAsync(HttpExchange exchange)
    {
        var request = exchange.Request;
        if (request.ContentLength > maxBodyBytes)
        {
            return exchange.RefuseAndClose(413, "request body too large");
        }

        int denied = authorizer.Authorize(request, exchange.RemoteAddress);
        int length = (int)Math.Max(request.ContentLength, 0);
        byte[] body = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            if (!await exchange.ReadBodyAsync(body.AsMemory(0, length)).ConfigureAwait(false))
            {
                return ExchangeResult.Close();
            }

            if (denied != 0)
            {
                return denied == 401 ? exchange.Refuse(401, "WWW-Authenticate"u8, "Bearer") : exchange.Refuse(denied);
            }

            var (status, text) = form.Publish(request, body.AsSpan(0, length));
            if (status != 200)
            {
                exchange.CountRejection(status);
            }

            return exchange.RespondText(status, text, "text/plain; charset=utf-8");
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(body);
        }
    }
}
