using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;
using RawSse.Http;
using RawSse.Transport;

namespace RawSse.Static;

/// <summary>
/// Every path no other route takes: the file <see cref="StaticFiles"/> maps it to, with 304 for a conditional request
/// that matches, HEAD without the body, and a 301 for a directory without its slash.
/// </summary>
internal sealed class StaticFileHandler(StaticFiles files, ILogger log) : IHttpHandler
{
    private const int FileChunkBytes = 64 * 1024;
    private const int DirectSendBytes = 16 * 1024;

    public string Allow => "GET, HEAD";

    public bool TakesBody(RequestMethod method) => false;

    public bool Allows(RequestMethod method) => method is RequestMethod.Get or RequestMethod.Head;

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<ExchangeResult> HandleAsync(HttpExchange exchange)
    {
        var request = exchange.Request;
        int status = files.Lookup(request.Path, out var file, out var redirect);
        if (status == 301)
        {
            return exchange.Respond(301, "Location"u8, redirect);
        }

        if (file is null)
        {
            return exchange.Respond(status);
        }

        using var handle = file.Handle; // a large file's descriptor is this request's

        var output = exchange.Output;
        bool notModified = ConditionalRequest.IsNotModified(request, file);
        ResponseWriter.WriteStatusLine(output, notModified ? 304 : 200);
        ResponseWriter.Write(output, notModified ? file.Headers.AsSpan(0, file.NotModifiedHeaderLength) : file.Headers);
        exchange.EndHead();
        if (notModified || exchange.HeadOnly)
        {
            return ExchangeResult.Continue;
        }

        if (file.Content is null)
        {
            return await StreamFileAsync(exchange, file, handle!).ConfigureAwait(false);
        }

        if (file.Content.Length < DirectSendBytes)
        {
            ResponseWriter.Write(output, file.Content);
        }
        else
        {
            // A large cached body goes from its array to the socket, not through a copy in the pipe: the head (and
            // answers pipelined before it) leave first.
            await exchange.SendDirectAsync(file.Content).ConfigureAwait(false);
        }

        return ExchangeResult.Continue;
    }

    // Large files go out in chunks, each flushed, so the pipe never holds more than one chunk.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<ExchangeResult> StreamFileAsync(HttpExchange exchange, StaticFile file, SafeFileHandle handle)
    {
        var output = exchange.Output;
        long remaining = file.Length;
        long offset = 0;
        while (remaining > 0)
        {
            var memory = output.GetMemory(FileChunkBytes);
            int read = await RandomAccess.ReadAsync(handle, memory[..(int)Math.Min(memory.Length, remaining)], offset).ConfigureAwait(false);
            if (read == 0)
            {
                // The file shrank after its length was promised: the only honest answer left is to close.
                log.LogWarning("connection {Id}: {Path} shrank while it was being sent", exchange.ConnectionId, exchange.Request.Path);
                return ExchangeResult.Close(DisconnectReason.ServerFault);
            }

            output.Advance(read);
            remaining -= read;
            offset += read;
            await exchange.FlushAsync().ConfigureAwait(false); // each chunk that leaves restarts the write timeout
        }

        return ExchangeResult.Continue;
    }
}
