using System.Buffers;
using System.Diagnostics;
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

    /// <summary>The connection's reader, for the connection's own request loop.</summary>
    internal RequestReader Reader { get; } = reader;

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

    /// <summary>Header fields (CRLF-terminated) every answer to this request carries, such as CORS; set by the handler.</summary>
    public byte[]? ExtraHeaders { get; set; }

    internal void Begin(bool keepAlive)
    {
        KeepAlive = keepAlive;
        ExtraHeaders = null;
    }

    /// <summary>
    /// Reads the whole body as it arrives into <paramref name="into"/> (or drops it when null), at most
    /// <paramref name="maxBytes"/> once decoded. A client waiting for <c>100 Continue</c> gets it first. A body that
    /// stops arriving is refused with 408 when the request timeout fires.
    /// </summary>
    public async ValueTask<BodyRead> ReadBodyAsync(BodyBuffer? into, long maxBytes)
    {
        await SendContinueAsync().ConfigureAwait(false);
        var read = await Reader.ReadBodyAsync(Request, maxBytes, into).ConfigureAwait(false);
        return read.End == BodyReadEnd.Canceled && connection.RequestTimedOut
            ? BodyRead.Refused(408, "request body not complete within the request timeout")
            : read;
    }

    /// <summary>
    /// Waits for the whole <c>Content-Length</c> body (the caller has checked the declared length against its limit)
    /// and returns it where it lies, uncopied, for a handler that parses it at once; the handler then calls
    /// <see cref="ConsumeBody"/>. Otherwise as <see cref="ReadBodyAsync"/>.
    /// </summary>
    public async ValueTask<(BodyRead Read, ReadOnlySequence<byte> Body)> ReadWholeBodyAsync()
    {
        Debug.Assert(!Request.Chunked, "a chunked body is read with ReadBodyAsync");
        await SendContinueAsync().ConfigureAwait(false);
        var (read, body) = await Reader.ReadWholeBodyAsync(Math.Max(Request.ContentLength, 0)).ConfigureAwait(false);
        return read.End == BodyReadEnd.Canceled && connection.RequestTimedOut
            ? (BodyRead.Refused(408, "request body not complete within the request timeout"), default)
            : (read, body);
    }

    /// <summary>Releases the body <see cref="ReadWholeBodyAsync"/> returned.</summary>
    public void ConsumeBody(in ReadOnlySequence<byte> body) => Reader.ConsumeBody(body);

    /// <summary>After a body that could not be read: the refusal it earned, or a plain close when the client left.</summary>
    public ExchangeResult CloseAfter(BodyRead read) =>
        read.End == BodyReadEnd.Refused ? RefuseAndClose(read.Status, read.Reason ?? "bad request body") : ExchangeResult.Close();

    // A client waiting for 100 Continue gets it before its body is awaited.
    private async ValueTask SendContinueAsync()
    {
        if (Request.ExpectsContinue && !Request.ContinueSent)
        {
            Request.ContinueSent = true;
            ResponseWriter.Write(Output, "HTTP/1.1 100 Continue\r\n\r\n"u8);
            await FlushAsync().ConfigureAwait(false);
            connection.AwaitBody();
        }
    }

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
        ResponseWriter.WriteSimple(Output, status, KeepAlive, Http10, HeadOnly, headerName, headerValue, ExtraHeaders);
        return ExchangeResult.Continue;
    }

    /// <summary>A 204: the head alone, no Content-Length (RFC 9110 §8.6).</summary>
    public ExchangeResult RespondNoContent(ReadOnlySpan<byte> headerName, string headerValue)
    {
        ResponseWriter.WriteStatusLine(Output, 204);
        ResponseWriter.Write(Output, ExtraHeaders);
        ResponseWriter.WriteHeader(Output, headerName, headerValue);
        EndHead();
        return ExchangeResult.Continue;
    }

    /// <summary>Like <see cref="Respond"/>, and counted as a rejected request.</summary>
    public ExchangeResult Refuse(int status, ReadOnlySpan<byte> headerName = default, string? headerValue = null)
    {
        services.Metrics.Rejected(status);
        return Respond(status, headerName, headerValue);
    }

    /// <summary>
    /// A final refusal: counted and logged like a malformed request, answered with <c>Connection: close</c>. Whatever
    /// body follows is not read into memory: the lingering close discards it.
    /// </summary>
    public ExchangeResult RefuseAndClose(int status, string reason, ReadOnlySpan<byte> headerName = default, string? headerValue = null)
    {
        services.Rejected(transport, status, reason);
        ResponseWriter.WriteSimple(Output, status, keepAlive: false, Http10, HeadOnly, headerName, headerValue, ExtraHeaders);
        return ExchangeResult.Close();
    }

    /// <summary>A complete answer with a text body (HEAD gets the head alone).</summary>
    public ExchangeResult RespondText(int status, string text, string contentType, ReadOnlySpan<byte> headerName = default, string? headerValue = null)
    {
        int length = Encoding.UTF8.GetByteCount(text);
        ResponseWriter.WriteStatusLine(Output, status);
        ResponseWriter.Write(Output, ExtraHeaders);
        if (headerValue is not null)
        {
            ResponseWriter.WriteHeader(Output, headerName, headerValue);
        }

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
