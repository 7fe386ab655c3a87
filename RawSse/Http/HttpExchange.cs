using System.IO.Pipelines;
using System.Net;
using System.Text;
using RawSse.Transport;

namespace RawSse.Http;

/// <summary>
/// One request and its response, as a handler sees them: the parsed head, the output to write the response into,
/// whether the connection may stay open, and the few things a handler may ask of its connection (read the body,
/// flush, send a large buffer directly, take over the send side for a stream). One instance per connection, reused.
/// </summary>
internal sealed class HttpExchange(HttpConnection connection, SocketConnection transport, RequestReader reader, HttpRequest request, ConnectionServices services)
{
    public HttpRequest Request { get; } = request;

    public PipeWriter Output => transport.Output;

    /// <summary>True when the response may leave the connection open for another request.</summary>
    public bool KeepAlive { get; private set; }

    public bool Http10 => Request.MinorVersion == 0;

    /// <summary>HEAD: the same head as GET, no body.</summary>
    public bool HeadOnly => Request.Method == RequestMethod.Head;

    public long ConnectionId => transport.Id;
    public IPAddress RemoteAddress => transport.RemoteAddress;
    public string Remote => transport.Remote;

    /// <summary>The send side, for a handler that turns the exchange into an endless stream.</summary>
    public IStreamSink StreamSink => transport;

    internal void Begin(bool keepAlive) => KeepAlive = keepAlive;

    /// <summary>Reads exactly <c>into.Length</c> body bytes. False when the body stopped short (the connection then closes).</summary>
    public ValueTask<bool> ReadBodyAsync(Memory<byte> into) => reader.ReadBodyAsync(into.Length, into);

    /// <summary>Reads and drops the whole body, so it is never parsed as the next request. False when it stopped short.</summary>
    public ValueTask<bool> DiscardBodyAsync() => reader.ReadBodyAsync(Math.Max(Request.ContentLength, 0), Memory<byte>.Empty);

    /// <summary>Sends what has been written so far (and the answers to requests pipelined before this one).</summary>
    public ValueTask FlushAsync() => connection.FlushAsync();

    /// <summary>Flushes, then sends <paramref name="bytes"/> from the caller's buffer without copying it into the pipe.</summary>
    public async ValueTask SendDirectAsync(ReadOnlyMemory<byte> bytes)
    {
        await FlushAsync().ConfigureAwait(false);
        await transport.SendDirectAsync(bytes).ConfigureAwait(false);
    }

    /// <summary>Ends the head: <c>Connection</c> as the exchange requires, then the blank line.</summary>
    public void EndHead()
    {
        ResponseWriter.WriteConnection(Output, KeepAlive, Http10);
        ResponseWriter.EndHeaders(Output);
    }

    /// <summary>A complete short text/plain answer ("404 Not Found\n"); HEAD gets the head alone.</summary>
    public ExchangeResult Respond(int status, ReadOnlySpan<byte> headerName = default, string? headerValue = null)
    {
        ResponseWriter.WriteSimple(Output, status, KeepAlive, Http10, HeadOnly, headerName, headerValue);
        return ExchangeResult.Continue;
    }

    /// <summary>Like <see cref="Respond"/>, and counted as a rejected request.</summary>
    public ExchangeResult Refuse(int status, ReadOnlySpan<byte> headerName = default, string? headerValue = null)
    {
        services.Metrics.Rejected(status);
        return Respond(status, headerName, headerValue);
    }

    /// <summary>A final refusal: counted and logged like a malformed request, answered with <c>Connection: close</c>.</summary>
    public ExchangeResult RefuseAndClose(int status, string reason)
    {
        services.Rejected(transport, status, reason);
        ResponseWriter.WriteSimple(Output, status, keepAlive: false, Http10);
        return ExchangeResult.Close();
    }

    /// <summary>A complete answer with a text body (HEAD gets the head alone).</summary>
    public ExchangeResult RespondText(int status, string text, string contentType)
    {
        int length = Encoding.UTF8.GetByteCount(text);
        ResponseWriter.WriteStatusLine(Output, status);
        ResponseWriter.WriteHeader(Output, "Content-Type"u8, contentType);
        ResponseWriter.WriteHeader(Output, "Content-Length"u8, length);
        ResponseWriter.WriteHeader(Output, "Cache-Control"u8, "no-store"u8);
        EndHead();
        if (!HeadOnly)
        {
            Output.Advance(Encoding.UTF8.GetBytes(text, Output.GetSpan(length)));
        }

        return ExchangeResult.Continue;
    }

    /// <summary>Counts a rejection the handler answered itself.</summary>
    public void CountRejection(int status) => services.Metrics.Rejected(status);
}
