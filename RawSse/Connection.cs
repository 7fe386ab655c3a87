using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Logging;
using RawSse.Http;
using RawSse.Publishing;
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
    private const int MaxLingerBytes = 1024 * 1024;
    private const int MaxLastEventIdLength = 1024;
    private const int MaxTopicsPerStream = 32;
    private static readonly TimeSpan LingerTime = TimeSpan.FromSeconds(2);
    private static readonly string[] s_defaultTopics = [Hub.DefaultTopic];

    private readonly Server _server;
    private readonly Socket _socket;
    private readonly PipeReader _reader;
    private readonly PipeWriter _writer;
    private readonly HttpRequest _request = new();
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // What the connection is waiting for, read by the server's shared sweep to apply timeouts without a
    // timer per connection. Reading: a request has begun (or the connection is new) and is not complete.
    // Idle: between keep-alive requests. Responding: a flush is in flight. Streaming: an SSE stream, which
    // only its subscriber's write-stall check can cut. Lingering: answered and half-closed, on its own timer.
    private const int PhaseReading = 0, PhaseIdle = 1, PhaseResponding = 2, PhaseStreaming = 3, PhaseLingering = 4;
    private int _phase = PhaseReading;
    private long _phaseSince = Environment.TickCount64;
    private int _timedOut; // 0, or 1 + the phase that timed out

    private Subscriber? _subscriber;
    private volatile bool _stopping;
    private DisconnectReason? _closeReason; // first reason wins; set before the socket is closed
    private int _aborted;

    public Connection(Server server, Socket socket, long id)
    {
        _server = server;
        _socket = socket;
        Id = id;
        var remote = socket.RemoteEndPoint as IPEndPoint;
        RemoteAddress = remote?.Address ?? IPAddress.None;
        Remote = remote?.ToString() ?? "?";
        var stream = new NetworkStream(socket, ownsSocket: false);
        _reader = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 4096, minimumReadSize: 1024, leaveOpen: true, useZeroByteReads: true));
        _writer = PipeWriter.Create(stream, new StreamPipeWriterOptions(minimumBufferSize: 4096, leaveOpen: true));
    }

    public long Id { get; }
    public string Remote { get; }
    public IPAddress RemoteAddress { get; }

    /// <summary>Completes when the connection is closed and everything it held is released.</summary>
    public Task Completion => _completion.Task;

    public void Start() => ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);

    void IThreadPoolWorkItem.Execute() => _ = RunAsync();

    /// <summary>Graceful stop: an idle keep-alive connection closes, a stream ends after what is queued.</summary>
    public void RequestStop(bool graceful = true)
    {
        if (graceful)
        {
            _stopping = true;
        }

        try
        {
            _reader.CancelPendingRead();
        }
        catch (InvalidOperationException)
        {
            // The reader already completed: the connection is on its way out.
        }
    }

    /// <summary>
    /// Called by the shared sweep: a request that is not complete after the request timeout gets 408, a
    /// keep-alive connection idle past the keep-alive timeout is closed quietly, and a response whose flush
    /// has made no progress within the write timeout is aborted.
    /// </summary>
    public void CheckTimeouts(long now, in ConnectionTimeouts timeouts)
    {
        int phase = Volatile.Read(ref _phase);
        long elapsed = now - Volatile.Read(ref _phaseSince);
        switch (phase)
        {
            case PhaseReading when elapsed > timeouts.RequestMs:
            case PhaseIdle when elapsed > timeouts.KeepAliveMs:
                if (Interlocked.CompareExchange(ref _timedOut, phase + 1, 0) == 0)
                {
                    RequestStop(graceful: false);
                }

                break;
            case PhaseResponding when elapsed > timeouts.WriteMs:
                Abort(DisconnectReason.WriteTimeout);
                break;
        }
    }

    private void EnterPhase(int phase)
    {
        Volatile.Write(ref _phaseSince, Environment.TickCount64);
        Volatile.Write(ref _phase, phase);
    }

    private async ValueTask FlushAsync()
    {
        EnterPhase(PhaseResponding);
        await _writer.FlushAsync().ConfigureAwait(false);
    }

    /// <summary>Closes the socket at once; the connection loop then unwinds and cleans up.</summary>
    public void Abort(DisconnectReason reason)
    {
        if (Interlocked.Exchange(ref _aborted, 1) == 0)
        {
            SetCloseReason(reason);
            _socket.Dispose();
        }
    }

    private void SetCloseReason(DisconnectReason reason)
    {
        lock (_request)
        {
            _closeReason ??= reason;
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
            SetCloseReason(DisconnectReason.ClientReset);
        }
        catch (Exception ex)
        {
            SetCloseReason(DisconnectReason.ServerFault);
            _server.Log.LogError(ex, "connection {Id} ({Remote}): unexpected fault", Id, Remote);
        }
        finally
        {
            try
            {
                SetCloseReason(DisconnectReason.Completed);
                if (_subscriber is not null)
                {
                    _server.RemoveSubscriber(this, _subscriber, _closeReason!.Value);
                    _server.ReleaseStream(RemoteAddress);
                    // Let a send in flight finish before the socket closes, or the close would be a reset. The
                    // sweep's write timeout still applies to it, through the Responding phase.
                    EnterPhase(PhaseResponding);
                    await _subscriber.StopAsync().ConfigureAwait(false);
                }

                await _reader.CompleteAsync().ConfigureAwait(false);

                // After an abort, completing with an exception discards unflushed bytes instead of writing them
                // to a socket that is gone; otherwise what is left is flushed.
                bool aborted = Volatile.Read(ref _aborted) != 0;
                await _writer.CompleteAsync(aborted ? new ConnectionAbortedException() : null).ConfigureAwait(false);
            }
            catch (Exception ex) when (IsDisconnect(ex))
            {
                // Unflushed bytes to a socket that is gone: nothing to do.
            }
            finally
            {
                _socket.Dispose();
                _server.OnConnectionClosed(this);
                _completion.TrySetResult();
            }
        }
    }

    private static bool IsDisconnect(Exception ex) =>
        ex is SocketException or ObjectDisposedException or OperationCanceledException
        || (ex is IOException io && io.InnerException is SocketException or ObjectDisposedException or null);

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
                    await FlushAsync().ConfigureAwait(false);
                    EnterPhase(PhaseIdle);
                    pendingFlush = false;
                }

                result = await _reader.ReadAsync().ConfigureAwait(false);
            }

            if (result.IsCanceled)
            {
                if (Volatile.Read(ref _timedOut) == PhaseReading + 1)
                {
                    // RFC 9110 §15.5.9: the server would not wait longer for the request to complete.
                    await RejectAsync(new BadRequestException(408, "request not complete within the request timeout")).ConfigureAwait(false);
                }

                SetCloseReason(_stopping ? DisconnectReason.ServerStopping : DisconnectReason.Completed);
                return;
            }

            var buffer = result.Buffer;
            if (!buffer.IsEmpty && Volatile.Read(ref _phase) == PhaseIdle)
            {
                EnterPhase(PhaseReading); // the request timeout runs from a request's first byte
            }

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
                    SetCloseReason(DisconnectReason.ClientClosed);
                    return;
                }

                needMore = true;
                continue;
            }

            _reader.AdvanceTo(consumed);
            needMore = false;
            if (_request.ContentLength <= 0)
            {
                EnterPhase(PhaseResponding); // the request is complete: the request timeout no longer applies
            }

            bool keepAlive = await HandleRequestAsync().ConfigureAwait(false);
            _request.Reset();
            if (!keepAlive)
            {
                await FlushAsync().ConfigureAwait(false);
                SetCloseReason(DisconnectReason.Completed);
                if (_subscriber is null && Volatile.Read(ref _aborted) == 0)
                {
                    // RFC 9112 §9.6: close in stages, so requests the client already sent do not reset the answer away.
                    await LingeringCloseAsync().ConfigureAwait(false);
                }

                return;
            }

            EnterPhase(PhaseIdle);
            pendingFlush = true;
        }
    }

    private async ValueTask RejectAsync(BadRequestException ex)
    {
        _server.OnRejected(this, ex);
        ResponseWriter.WriteSimple(_writer, ex.StatusCode, keepAlive: false, http10: false);
        await FlushAsync().ConfigureAwait(false);
        SetCloseReason(DisconnectReason.Completed);
        await LingeringCloseAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// Half-closes, then reads and discards what the client still sends for a short while: closing with
    /// unread bytes would send a reset that can destroy the response before the client reads it.
    /// </summary>
    private async ValueTask LingeringCloseAsync()
    {
        EnterPhase(PhaseLingering);
        _socket.Shutdown(SocketShutdown.Send);
        using var timeout = new CancellationTokenSource(LingerTime);
        long discarded = 0;
        try
        {
            while (discarded < MaxLingerBytes)
            {
                var result = await _reader.ReadAsync(timeout.Token).ConfigureAwait(false);
                discarded += result.Buffer.Length;
                _reader.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted || result.IsCanceled)
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The client kept the connection open: close it anyway.
        }
    }

    /// <summary>Writes the response to the parsed request. Returns whether the connection stays open for another.</summary>
    private async ValueTask<bool> HandleRequestAsync()
    {
        var request = _request;
        bool keepAlive = request.KeepAlive && !_stopping;
        bool http10 = request.MinorVersion == 0;

        bool takesBody = request.Method == RequestMethod.Post && request.Path == "/publish";
        if (!takesBody && request.ContentLength > 0)
        {
            // No other request takes a body: drain a small one so it is never read as the next request.
            if (request.ContentLength > MaxDrainedBodyBytes)
            {
                return await RefuseBodyAsync(http10).ConfigureAwait(false);
            }

            if (!await DrainAsync(request.ContentLength).ConfigureAwait(false))
            {
                return false;
            }
        }

        if (request.Path == "/publish")
        {
            return await PublishAsync(keepAlive, http10).ConfigureAwait(false);
        }

        if (request.Method is not (RequestMethod.Get or RequestMethod.Head))
        {
            ResponseWriter.WriteSimple(_writer, 405, keepAlive, http10, extraHeaderName: "Allow"u8, extraHeaderValue: "GET, HEAD");
            return keepAlive;
        }

        return request.Path switch
        {
            "/sse" => await ServeStreamAsync(keepAlive, http10).ConfigureAwait(false),
            "/metrics" => WriteText(200, _server.Metrics.ToPrometheusText(), keepAlive, http10, "text/plain; version=0.0.4; charset=utf-8"),
            _ => await ServeFileAsync(keepAlive, http10).ConfigureAwait(false),
        };
    }

    private async ValueTask<bool> RefuseBodyAsync(bool http10)
    {
        _server.OnRejected(this, new BadRequestException(413, "request body too large"));
        ResponseWriter.WriteSimple(_writer, 413, keepAlive: false, http10);
        await FlushAsync().ConfigureAwait(false);
        SetCloseReason(DisconnectReason.Completed);
        await LingeringCloseAsync().ConfigureAwait(false);
        return false;
    }

    private async ValueTask<bool> PublishAsync(bool keepAlive, bool http10)
    {
        var request = _request;
        if (request.Method != RequestMethod.Post)
        {
            ResponseWriter.WriteSimple(_writer, 405, keepAlive, http10, headOnly: request.Method == RequestMethod.Head,
                extraHeaderName: "Allow"u8, extraHeaderValue: "POST");
            return keepAlive;
        }

        if (request.ContentLength > _server.Options.MaxPublishBodyBytes)
        {
            return await RefuseBodyAsync(http10).ConfigureAwait(false);
        }

        int denied = _server.Publisher.Authorize(request, RemoteAddress);
        int length = (int)Math.Max(request.ContentLength, 0);
        byte[] body = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            // The body is read even when the answer is no, so the connection stays in step for the next request.
            if (!await ReadBodyAsync(body.AsMemory(0, length)).ConfigureAwait(false))
            {
                return false;
            }

            if (denied != 0)
            {
                _server.Metrics.Rejected(denied);
                var header = denied == 401 ? "WWW-Authenticate"u8 : default;
                ResponseWriter.WriteSimple(_writer, denied, keepAlive, http10, extraHeaderName: header, extraHeaderValue: denied == 401 ? "Bearer" : null);
                return keepAlive;
            }

            var (status, text) = _server.Publisher.Publish(request, body.AsSpan(0, length));
            if (status != 200)
            {
                _server.Metrics.Rejected(status);
            }

            return WriteText(status, text, keepAlive, http10, "text/plain; charset=utf-8");
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(body);
        }
    }

    private async ValueTask<bool> ReadBodyAsync(Memory<byte> into)
    {
        while (!into.IsEmpty)
        {
            var result = await _reader.ReadAsync().ConfigureAwait(false);
            if (result.IsCanceled)
            {
                return false;
            }

            var buffer = result.Buffer;
            int take = (int)Math.Min(into.Length, buffer.Length);
            buffer.Slice(0, take).CopyTo(into.Span);
            into = into[take..];
            _reader.AdvanceTo(buffer.GetPosition(take));
            if (!into.IsEmpty && result.IsCompleted)
            {
                return false;
            }
        }

        return true;
    }

    private bool WriteText(int status, string text, bool keepAlive, bool http10, string contentType)
    {
        int length = Encoding.UTF8.GetByteCount(text);
        ResponseWriter.WriteStatusLine(_writer, status);
        ResponseWriter.WriteHeader(_writer, "Content-Type"u8, contentType);
        ResponseWriter.WriteHeader(_writer, "Content-Length"u8, length);
        ResponseWriter.WriteHeader(_writer, "Cache-Control"u8, "no-store"u8);
        ResponseWriter.WriteConnection(_writer, keepAlive, http10);
        ResponseWriter.EndHeaders(_writer);
        if (_request.Method != RequestMethod.Head)
        {
            _writer.Advance(Encoding.UTF8.GetBytes(text, _writer.GetSpan(length)));
        }

        return keepAlive;
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
        ResponseWriter.Write(_writer, notModified ? file.Headers.AsSpan(0, file.NotModifiedHeaderLength) : file.Headers);
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
                SetCloseReason(DisconnectReason.ServerFault);
                _server.Log.LogWarning("connection {Id}: {Path} shrank while it was being sent", Id, _request.Path);
                return false;
            }

            _writer.Advance(read);
            remaining -= read;
            await FlushAsync().ConfigureAwait(false); // each chunk that leaves restarts the write timeout
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
        if (!TryReadStreamQuery(out var topics, out var lastEventId))
        {
            ResponseWriter.WriteSimple(_writer, 400, keepAlive, http10, _request.Method == RequestMethod.Head);
            _server.Metrics.Rejected(400);
            return keepAlive;
        }

        bool headOnly = _request.Method == RequestMethod.Head;
        if (!headOnly && !_server.TryReserveStream(RemoteAddress))
        {
            _server.Metrics.Rejected(429);
            ResponseWriter.WriteSimple(_writer, 429, keepAlive, http10, extraHeaderName: "Retry-After"u8, extraHeaderValue: "5");
            return keepAlive;
        }

        ResponseWriter.WriteStatusLine(_writer, 200);
        ResponseWriter.WriteHeader(_writer, "Content-Type"u8, "text/event-stream"u8);
        ResponseWriter.WriteHeader(_writer, "Cache-Control"u8, "no-cache"u8);
        // nginx buffers proxied responses unless told not to.
        ResponseWriter.WriteHeader(_writer, "X-Accel-Buffering"u8, "no"u8);
        if (!string.IsNullOrEmpty(options.AllowOrigin))
        {
            ResponseWriter.WriteHeader(_writer, "Access-Control-Allow-Origin"u8, options.AllowOrigin);
        }

        if (headOnly)
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
        try
        {
            await FlushAsync().ConfigureAwait(false);
        }
        catch
        {
            _server.ReleaseStream(RemoteAddress);
            throw;
        }

        EnterPhase(PhaseStreaming);

        _subscriber = new Subscriber(Id, _socket, topics, options.SubscriberLimits, _server.Hub.Counters, Abort);
        _server.AddSubscriber(this, _subscriber, lastEventId);

        // From here the subscriber writes; this loop only watches for the client's close (or reset, which throws).
        while (true)
        {
            var result = await _reader.ReadAsync().ConfigureAwait(false);
            if (result.IsCanceled)
            {
                if (!_stopping)
                {
                    continue; // a request timeout that raced with the switch to streaming; streams are exempt
                }

                SetCloseReason(DisconnectReason.ServerStopping);
                await _subscriber.CompleteAsync().ConfigureAwait(false);
                return false;
            }

            _reader.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                SetCloseReason(DisconnectReason.ClientClosed);
                return false;
            }
        }
    }

    /// <summary>
    /// <c>?topic=a&amp;topic=b</c> (none: the default topic) and <c>?lastEventId=</c> for clients that cannot set
    /// headers; the Last-Event-ID header wins. An over-long id is kept only as "not found" (a reset), never echoed.
    /// </summary>
    private bool TryReadStreamQuery(out string[] topics, out string? lastEventId)
    {
        topics = s_defaultTopics;
        lastEventId = _request.LastEventId;
        if (_request.Query.Length > 0)
        {
            var fields = new List<KeyValuePair<string, string>>();
            if (!FormParser.TryParse(_request.Query, fields))
            {
                return false;
            }

            var named = new List<string>();
            foreach (var (name, value) in fields)
            {
                if (name == "topic")
                {
                    if (!Hub.IsValidTopic(value))
                    {
                        return false;
                    }

                    if (!named.Contains(value))
                    {
                        if (named.Count == MaxTopicsPerStream)
                        {
                            return false;
                        }

                        named.Add(value);
                    }
                }
                else if (name == "lastEventId")
                {
                    lastEventId ??= value;
                }
            }

            if (named.Count > 0)
            {
                topics = [.. named];
            }
        }

        if (lastEventId is { Length: > MaxLastEventIdLength })
        {
            // No event can carry this id (SseEvent refuses LF), so the lookup misses and the stream gets a reset.
            lastEventId = "\n";
        }

        return true;
    }
}
