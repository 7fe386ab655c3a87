using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using RawSse.Http;
using RawSse.Sse;
using RawSse.Static;

namespace RawSse;

/// <summary>
/// One accepted socket: a PipeReader loop that parses request heads, routes them, and writes responses,
/// keeping the connection alive between requests. Responses to pipelined requests are flushed together.
/// An SSE request hands the socket's send side to a <see cref="Subscriber"/> and keeps reading only to
/// notice the client's close; reads use zero-byte reads, so an idle connection holds no receive buffer.
/// </summary>
internal sealed class Connection : IThreadPoolWorkItem
{
    private const int MaxDrainedBodyBytes = 64 * 1024;
    private const int FileChunkBytes = 64 * 1024;

    private readonly Server _server;
    private readonly Socket _socket;
    private readonly PipeReader _reader;
    private readonly PipeWriter _writer;
    private readonly HttpRequest _request = new();
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private Subscriber? _subscriber;
    private volatile bool _stopping;
    private volatile string? _closeReason;
    private int _aborted;

    public Connection(Server server, Socket socket, long id)
    {
        _server = server;
        _socket = socket;
        Id = id;
        Remote = socket.RemoteEndPoint?.ToString() ?? "?";
        var stream = new NetworkStream(socket, ownsSocket: false);
        _reader = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 4096, minimumReadSize: 1024, leaveOpen: true, useZeroByteReads: true));
        _writer = PipeWriter.Create(stream, new StreamPipeWriterOptions(minimumBufferSize: 4096, leaveOpen: true));
    }

    public long Id { get; }
    public string Remote { get; }

    /// <summary>Completes when the connection is closed and everything it held is released.</summary>
    public Task Completion => _completion.Task;

    public void Start() => ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);

    void IThreadPoolWorkItem.Execute() => _ = RunAsync();

    /// <summary>Graceful stop: an idle keep-alive connection closes, a stream ends after what is queued.</summary>
    public void RequestStop()
    {
        _stopping = true;
        try
        {
            _reader.CancelPendingRead();
        }
        catch (InvalidOperationException)
        {
            // The reader already completed: the connection is on its way out.
        }
    }

    /// <summary>Closes the socket at once; the connection loop then unwinds and cleans up.</summary>
    public void Abort(string reason)
    {
        if (Interlocked.Exchange(ref _aborted, 1) == 0)
        {
            _closeReason = reason;
            _socket.Dispose();
        }
    }

    private async Task RunAsync()
    {
        try
        {
            await ProcessRequestsAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (IsDisconnect(ex))
        {
            _closeReason ??= "client reset";
        }
        catch (Exception ex)
        {
            _closeReason ??= "server fault";
            _server.Log.LogError(ex, "connection {Id} ({Remote}): unexpected fault", Id, Remote);
        }
        finally
        {
            if (_subscriber is not null)
            {
                _server.RemoveSubscriber(this, _subscriber, _closeReason ?? "closed");
            }

            await _reader.CompleteAsync().ConfigureAwait(false);
            try
            {
                await _writer.CompleteAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (IsDisconnect(ex))
            {
                // Unflushed bytes to a socket that is gone: nothing to do.
            }

            _socket.Dispose();
            _server.OnConnectionClosed(this);
            _completion.TrySetResult();
        }
    }

    private static bool IsDisconnect(Exception ex) =>
        ex is SocketException or ObjectDisposedException or OperationCanceledException
        || (ex is IOException io && (io.InnerException is SocketException or null));

    private async Task ProcessRequestsAsync()
    {
        var limits = _server.Options.RequestLimits;
        bool needMore = true;
        bool pendingFlush = false;
        while (true)
        {
            ReadResult result;
            if (needMore || !_reader.TryRead(out result))
            {
                if (pendingFlush)
                {
                    // Nothing more is buffered: the responses to everything pipelined so far leave in one write.
                    await _writer.FlushAsync().ConfigureAwait(false);
                    pendingFlush = false;
                }

                result = await _reader.ReadAsync().ConfigureAwait(false);
            }

            if (result.IsCanceled)
            {
                return;
            }

            var buffer = result.Buffer;
            bool complete;
            SequencePosition consumed;
            try
            {
                var sequenceReader = new SequenceReader<byte>(buffer);
                complete = RequestParser.TryParseHead(ref sequenceReader, _request, limits);
                consumed = sequenceReader.Position;
            }
            catch (BadRequestException ex)
            {
                _reader.AdvanceTo(buffer.End);
                await RejectAsync(ex).ConfigureAwait(false);
                return;
            }

            if (!complete)
            {
                _reader.AdvanceTo(consumed, buffer.End);
                if (result.IsCompleted)
                {
                    // EOF between requests is the normal end of a keep-alive connection; mid-head, there is no one to answer.
                    _closeReason ??= "client closed";
                    return;
                }

                needMore = true;
                continue;
            }

            _reader.AdvanceTo(consumed);
            needMore = false;
            bool keepAlive = await HandleRequestAsync().ConfigureAwait(false);
            _request.Reset();
            if (!keepAlive)
            {
                await _writer.FlushAsync().ConfigureAwait(false);
                _closeReason ??= "done";
                return;
            }

            pendingFlush = true;
        }
    }

    private async ValueTask RejectAsync(BadRequestException ex)
    {
        _server.OnRejected(this, ex);
        ResponseWriter.WriteSimple(_writer, ex.StatusCode, keepAlive: false, http10: false);
        await _writer.FlushAsync().ConfigureAwait(false);
        _closeReason = $"rejected {ex.StatusCode}";
        _socket.Shutdown(SocketShutdown.Send);
    }

    /// <summary>Writes the response to the parsed request. Returns whether the connection stays open for another.</summary>
    private async ValueTask<bool> HandleRequestAsync()
    {
        var request = _request;
        bool keepAlive = request.KeepAlive && !_stopping;
        bool http10 = request.MinorVersion == 0;

        if (request.ContentLength > 0)
        {
            // No route here takes a body: drain a small one so it is never read as the next request.
            if (request.ContentLength > MaxDrainedBodyBytes)
            {
                ResponseWriter.WriteSimple(_writer, 413, keepAlive: false, http10);
                return false;
            }

            if (!await DrainAsync(request.ContentLength).ConfigureAwait(false))
            {
                return false;
            }
        }

        bool isGetOrHead = request.Method is RequestMethod.Get or RequestMethod.Head;
        if (!isGetOrHead)
        {
            ResponseWriter.WriteSimple(_writer, 405, keepAlive, http10, extraHeaderName: "Allow"u8, extraHeaderValue: "GET, HEAD");
            return keepAlive;
        }

        if (request.Path == "/sse")
        {
            return await ServeStreamAsync(keepAlive, http10).ConfigureAwait(false);
        }

        return await ServeFileAsync(keepAlive, http10).ConfigureAwait(false);
    }

    private async ValueTask<bool> DrainAsync(long length)
    {
        while (length > 0)
        {
            var result = await _reader.ReadAsync().ConfigureAwait(false);
            if (result.IsCanceled)
            {
                return false;
            }

            long take = Math.Min(length, result.Buffer.Length);
            _reader.AdvanceTo(result.Buffer.GetPosition(take));
            length -= take;
            if (length > 0 && result.IsCompleted)
            {
                return false;
            }
        }

        return true;
    }

    private async ValueTask<bool> ServeFileAsync(bool keepAlive, bool http10)
    {
        bool headOnly = _request.Method == RequestMethod.Head;
        int status = _server.StaticFiles.Lookup(_request.Path, out var file, out var redirect);
        if (status == 301)
        {
            ResponseWriter.WriteSimple(_writer, 301, keepAlive, http10, headOnly, "Location"u8, redirect);
            return keepAlive;
        }

        if (file is null)
        {
            ResponseWriter.WriteSimple(_writer, status, keepAlive, http10, headOnly);
            return keepAlive;
        }

        bool notModified = IsNotModified(file);
        ResponseWriter.WriteStatusLine(_writer, notModified ? 304 : 200);
        ResponseWriter.WriteHeader(_writer, "ETag"u8, file.ETag);
        ResponseWriter.WriteHeader(_writer, "Last-Modified"u8, file.LastModifiedHttp);
        ResponseWriter.WriteHeader(_writer, "Cache-Control"u8, "no-cache"u8);
        if (!notModified)
        {
            ResponseWriter.WriteHeader(_writer, "Content-Type"u8, file.ContentType);
            ResponseWriter.WriteHeader(_writer, "Content-Length"u8, file.Length);
        }

        ResponseWriter.WriteConnection(_writer, keepAlive, http10);
        ResponseWriter.EndHeaders(_writer);
        if (notModified || headOnly)
        {
            return keepAlive;
        }

        if (file.Content is not null)
        {
            ResponseWriter.Write(_writer, file.Content);
            return keepAlive;
        }

        return await StreamFileAsync(file).ConfigureAwait(false) && keepAlive;
    }

    // Large files go out in chunks, each flushed, so the pipe never holds more than one chunk.
    private async ValueTask<bool> StreamFileAsync(StaticFile file)
    {
        await using var stream = new FileStream(file.FullPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite,
            bufferSize: 0, FileOptions.Asynchronous | FileOptions.SequentialScan);
        long remaining = file.Length;
        while (remaining > 0)
        {
            var memory = _writer.GetMemory(FileChunkBytes);
            int read = await stream.ReadAsync(memory[..(int)Math.Min(memory.Length, remaining)]).ConfigureAwait(false);
            if (read == 0)
            {
                // The file shrank after its length was promised: the only honest answer left is to close.
                _closeReason = "file changed while served";
                return false;
            }

            _writer.Advance(read);
            remaining -= read;
            await _writer.FlushAsync().ConfigureAwait(false);
        }

        return true;
    }

    // RFC 9110 §13.1.2/§13.1.3 and §13.2.2: If-None-Match wins over If-Modified-Since; weak comparison for GET.
    private bool IsNotModified(StaticFile file)
    {
        if (_request.IfNoneMatch is { } ifNoneMatch)
        {
            foreach (var range in ifNoneMatch.AsSpan().Split(','))
            {
                var tag = ifNoneMatch.AsSpan()[range].Trim();
                if (tag.StartsWith("W/", StringComparison.Ordinal))
                {
                    tag = tag[2..];
                }

                if (tag.SequenceEqual("*") || tag.SequenceEqual(file.ETag))
                {
                    return true;
                }
            }

            return false;
        }

        return HttpDate.TryParse(_request.IfModifiedSince, out var since) && file.LastModified <= since;
    }

    private async ValueTask<bool> ServeStreamAsync(bool keepAlive, bool http10)
    {
        var options = _server.Options;
        ResponseWriter.WriteStatusLine(_writer, 200);
        ResponseWriter.WriteHeader(_writer, "Content-Type"u8, "text/event-stream"u8);
        ResponseWriter.WriteHeader(_writer, "Cache-Control"u8, "no-cache"u8);
        // nginx buffers proxied responses unless told not to.
        ResponseWriter.WriteHeader(_writer, "X-Accel-Buffering"u8, "no"u8);
        if (!string.IsNullOrEmpty(options.AllowOrigin))
        {
            ResponseWriter.WriteHeader(_writer, "Access-Control-Allow-Origin"u8, options.AllowOrigin);
        }

        if (_request.Method == RequestMethod.Head)
        {
            ResponseWriter.WriteConnection(_writer, keepAlive, http10);
            ResponseWriter.EndHeaders(_writer);
            return keepAlive;
        }

        // The body runs until the connection closes (RFC 9112 §6.3, item 8): no Content-Length, no chunking.
        ResponseWriter.EndHeaders(_writer);
        ResponseWriter.Write(_writer, "retry: "u8);
        ResponseWriter.WriteNumber(_writer, (long)options.Retry.TotalMilliseconds);
        ResponseWriter.Write(_writer, "\n\n"u8);
        await _writer.FlushAsync().ConfigureAwait(false);

        _subscriber = new Subscriber(Id, _socket, [Hub.DefaultTopic], options.SubscriberLimits, Abort);
        _server.AddSubscriber(this, _subscriber);

        // From here the subscriber writes; this loop only watches for the client's close (or reset, which throws).
        while (true)
        {
            var result = await _reader.ReadAsync().ConfigureAwait(false);
            if (result.IsCanceled)
            {
                if (_stopping)
                {
                    _closeReason = "server stopping";
                    await _subscriber.CompleteAsync().ConfigureAwait(false);
                }

                return false;
            }

            _reader.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                _closeReason ??= "client closed";
                return false;
            }
        }
    }
}
