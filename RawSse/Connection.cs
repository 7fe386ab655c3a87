using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
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
/// An SSE request hands the socket's send side to a <see cref="Subscriber"/> and drops the pipes; a zero-byte
/// receive then notices the client's close. Reads are zero-byte reads first, so an idle connection holds no
/// receive buffer.
/// </summary>
internal sealed class Connection : IThreadPoolWorkItem, IStreamOwner
{
    private const int MaxDrainedBodyBytes = 64 * 1024;
    private const int FileChunkBytes = 64 * 1024;
    private const int DirectSendBytes = 16 * 1024;
    private const int MaxLingerBytes = 1024 * 1024;
    private const int MaxLastEventIdLength = 1024;
    private const int MaxDiscardedOnStream = 64 * 1024;
    private const int MaxTopicsPerStream = 32;
    private static readonly TimeSpan LingerTime = TimeSpan.FromSeconds(2);
    private static readonly string[] s_defaultTopics = [Hub.DefaultTopic];

    private readonly Server _server;
    private readonly Socket _socket;
    private readonly int _remotePort;

    // The request side: dropped when the connection becomes a stream, which then holds only its socket, its
    // subscriber and one pending zero-byte receive.
    private PipeReader? _pipeReader;
    private PipeWriter? _pipeWriter;
    private HttpRequest? _httpRequest = new();
    private volatile bool _streaming;
    private int _streamEnding;

    // A stream's zero-byte receive in flight, and its continuation (made once): cheaper to keep per idle stream than
    // an async method's state machine.
    private ValueTask<int> _readable;
    private Action? _onReadable;
    private int _discardedOnStream;

    private TaskCompletionSource? _completion; // made only when someone waits for the close (the server's stop)
    private int _closed;

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
    private int _closeReason = NoReason; // a DisconnectReason; the first one set wins, before the socket is closed
    private const int NoReason = -1;
    private int _aborted;

    public Connection(Server server, Socket socket, long id)
    {
        _server = server;
        _socket = socket;
        Id = id;
        var remote = socket.RemoteEndPoint as IPEndPoint;
        RemoteAddress = remote?.Address ?? IPAddress.None;
        _remotePort = remote?.Port ?? 0;
        var stream = new NetworkStream(socket, ownsSocket: false);
        _pipeReader = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 4096, minimumReadSize: 1024, leaveOpen: true, useZeroByteReads: true));
        _pipeWriter = PipeWriter.Create(stream, new StreamPipeWriterOptions(minimumBufferSize: 4096, leaveOpen: true));
    }

    public long Id { get; }
    public IPAddress RemoteAddress { get; }

    /// <summary>The client's address and port, for logs (made when asked for, so a stream does not keep it).</summary>
    public string Remote => new IPEndPoint(RemoteAddress, _remotePort).ToString();

    /// <summary>Completes when the connection is closed and everything it held is released.</summary>
    public Task Completion
    {
        get
        {
            var completion = _completion;
            if (completion is null)
            {
                var made = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                completion = Interlocked.CompareExchange(ref _completion, made, null) ?? made;
            }

            if (Volatile.Read(ref _closed) != 0)
            {
                completion.TrySetResult(); // closed before anyone asked, or while the source was being made
            }

            return completion.Task;
        }
    }

    private PipeReader Reader => _pipeReader ?? throw new InvalidOperationException("the connection is a stream now");
    private PipeWriter Writer => _pipeWriter ?? throw new InvalidOperationException("the connection is a stream now");
    private HttpRequest Request => _httpRequest ?? throw new InvalidOperationException("the connection is a stream now");

    public void Start() => ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);

    void IThreadPoolWorkItem.Execute() => _ = RunAsync();

    /// <summary>Graceful stop: an idle keep-alive connection closes, a stream ends after what is queued.</summary>
    public void RequestStop(bool graceful = true)
    {
        if (graceful)
        {
            _stopping = true;
        }

        Interlocked.MemoryBarrier(); // pairs with BecomeStream
        if (_streaming)
        {
            if (graceful)
            {
                _ = EndStreamAsync(); // a stream is exempt from the request and keep-alive timeouts
            }

            return;
        }

        try
        {
            _pipeReader?.CancelPendingRead();
        }
        catch (InvalidOperationException)
        {
            // The reader already completed: the connection is on its way out (or became a stream meanwhile,
            // which then sees _stopping itself).
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

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask FlushAsync()
    {
        EnterPhase(PhaseResponding);
        await Writer.FlushAsync().ConfigureAwait(false);
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

    private void SetCloseReason(DisconnectReason reason) => Interlocked.CompareExchange(ref _closeReason, (int)reason, NoReason);

    private DisconnectReason CloseReason => (DisconnectReason)Volatile.Read(ref _closeReason);

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask RunAsync()
    {
        try
        {
            await ProcessRequestsAsync().ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            OnFault(ex);
        }
        finally
        {
            if (!_streaming)
            {
                await CloseAsync().ConfigureAwait(false); // a stream closes from its own watcher
            }
        }
    }

    // Releases everything and closes the socket; runs once, at the end of the request loop or of a stream.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask CloseAsync()
    {
        try
        {
            SetCloseReason(DisconnectReason.Completed);
            if (_subscriber is not null)
            {
                _server.RemoveSubscriber(this, _subscriber, CloseReason);
                _server.ReleaseStream(RemoteAddress);
                // Let a send in flight finish before the socket closes, or the close would be a reset. The
                // sweep's write timeout still applies to it, through the Responding phase.
                EnterPhase(PhaseResponding);
                await _subscriber.StopAsync().ConfigureAwait(false);
            }

            if (_pipeReader is not null)
            {
                await _pipeReader.CompleteAsync().ConfigureAwait(false);
            }

            if (_pipeWriter is not null)
            {
                // After an abort, completing with an exception discards unflushed bytes instead of writing them
                // to a socket that is gone; otherwise what is left is flushed.
                bool aborted = Volatile.Read(ref _aborted) != 0;
                await _pipeWriter.CompleteAsync(aborted ? new ConnectionAbortedException() : null).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (IsDisconnect(ex))
        {
            // Unflushed bytes to a socket that is gone: nothing to do.
        }
        finally
        {
            _socket.Dispose();
            _server.OnConnectionClosed(this);
            Interlocked.Exchange(ref _closed, 1); // a full fence: pairs with the CompareExchange in Completion
            Volatile.Read(ref _completion)?.TrySetResult();
        }
    }

    // A reset or a socket closed under the loop is the client's doing; anything else is a bug, and logged.
    private void OnFault(Exception ex)
    {
        if (IsDisconnect(ex))
        {
            SetCloseReason(DisconnectReason.ClientReset);
            return;
        }

        SetCloseReason(DisconnectReason.ServerFault);
        _server.Log.LogError(ex, "connection {Id} ({Remote}): unexpected fault", Id, Remote);
    }

    private static bool IsDisconnect(Exception ex) =>
        ex is SocketException or ObjectDisposedException or OperationCanceledException
        || (ex is IOException io && io.InnerException is SocketException or ObjectDisposedException or null);

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask ProcessRequestsAsync()
    {
        var limits = _server.Options.RequestLimits;
        bool needMore = true;
        bool pendingFlush = false;
        while (true)
        {
            ReadResult result;
            if (needMore || !Reader.TryRead(out result))
            {
                if (pendingFlush)
                {
                    // Nothing more is buffered: the responses to everything pipelined so far leave in one write.
                    await FlushAsync().ConfigureAwait(false);
                    EnterPhase(PhaseIdle);
                    pendingFlush = false;
                }

                result = await Reader.ReadAsync().ConfigureAwait(false);
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
                complete = RequestParser.TryParseHead(ref sequenceReader, Request, limits);
                consumed = sequenceReader.Position;
            }
            catch (BadRequestException ex)
            {
                Reader.AdvanceTo(buffer.End);
                await RejectAsync(ex).ConfigureAwait(false);
                return;
            }

            if (!complete)
            {
                Reader.AdvanceTo(consumed, buffer.End);
                if (result.IsCompleted)
                {
                    // EOF between requests is the normal end of a keep-alive connection; mid-head, there is no one to answer.
                    SetCloseReason(DisconnectReason.ClientClosed);
                    return;
                }

                needMore = true;
                continue;
            }

            Reader.AdvanceTo(consumed);
            needMore = false;
            if (Request.ContentLength <= 0)
            {
                EnterPhase(PhaseResponding); // the request is complete: the request timeout no longer applies
            }

            bool keepAlive = await HandleRequestAsync().ConfigureAwait(false);
            if (_streaming)
            {
                return; // the stream's watcher owns the connection now
            }

            Request.Reset();
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
        ResponseWriter.WriteSimple(Writer, ex.StatusCode, keepAlive: false, http10: false);
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
                var result = await Reader.ReadAsync(timeout.Token).ConfigureAwait(false);
                discarded += result.Buffer.Length;
                Reader.AdvanceTo(result.Buffer.End);
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
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> HandleRequestAsync()
    {
        var request = Request;
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
            ResponseWriter.WriteSimple(Writer, 405, keepAlive, http10, extraHeaderName: "Allow"u8, extraHeaderValue: "GET, HEAD");
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
        ResponseWriter.WriteSimple(Writer, 413, keepAlive: false, http10);
        await FlushAsync().ConfigureAwait(false);
        SetCloseReason(DisconnectReason.Completed);
        await LingeringCloseAsync().ConfigureAwait(false);
        return false;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> PublishAsync(bool keepAlive, bool http10)
    {
        var request = Request;
        if (request.Method != RequestMethod.Post)
        {
            ResponseWriter.WriteSimple(Writer, 405, keepAlive, http10, headOnly: request.Method == RequestMethod.Head,
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
                ResponseWriter.WriteSimple(Writer, denied, keepAlive, http10, extraHeaderName: header, extraHeaderValue: denied == 401 ? "Bearer" : null);
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

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> ReadBodyAsync(Memory<byte> into)
    {
        while (!into.IsEmpty)
        {
            var result = await Reader.ReadAsync().ConfigureAwait(false);
            if (result.IsCanceled)
            {
                return false;
            }

            var buffer = result.Buffer;
            int take = (int)Math.Min(into.Length, buffer.Length);
            buffer.Slice(0, take).CopyTo(into.Span);
            into = into[take..];
            Reader.AdvanceTo(buffer.GetPosition(take));
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
        ResponseWriter.WriteStatusLine(Writer, status);
        ResponseWriter.WriteHeader(Writer, "Content-Type"u8, contentType);
        ResponseWriter.WriteHeader(Writer, "Content-Length"u8, length);
        ResponseWriter.WriteHeader(Writer, "Cache-Control"u8, "no-store"u8);
        ResponseWriter.WriteConnection(Writer, keepAlive, http10);
        ResponseWriter.EndHeaders(Writer);
        if (Request.Method != RequestMethod.Head)
        {
            Writer.Advance(Encoding.UTF8.GetBytes(text, Writer.GetSpan(length)));
        }

        return keepAlive;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> DrainAsync(long length)
    {
        while (length > 0)
        {
            var result = await Reader.ReadAsync().ConfigureAwait(false);
            if (result.IsCanceled)
            {
                return false;
            }

            long take = Math.Min(length, result.Buffer.Length);
            Reader.AdvanceTo(result.Buffer.GetPosition(take));
            length -= take;
            if (length > 0 && result.IsCompleted)
            {
                return false;
            }
        }

        return true;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> ServeFileAsync(bool keepAlive, bool http10)
    {
        bool headOnly = Request.Method == RequestMethod.Head;
        int status = _server.StaticFiles.Lookup(Request.Path, out var file, out var redirect);
        if (status == 301)
        {
            ResponseWriter.WriteSimple(Writer, 301, keepAlive, http10, headOnly, "Location"u8, redirect);
            return keepAlive;
        }

        if (file is null)
        {
            ResponseWriter.WriteSimple(Writer, status, keepAlive, http10, headOnly);
            return keepAlive;
        }

        bool notModified = IsNotModified(file);
        ResponseWriter.WriteStatusLine(Writer, notModified ? 304 : 200);
        ResponseWriter.Write(Writer, notModified ? file.Headers.AsSpan(0, file.NotModifiedHeaderLength) : file.Headers);
        ResponseWriter.WriteConnection(Writer, keepAlive, http10);
        ResponseWriter.EndHeaders(Writer);
        if (notModified || headOnly)
        {
            return keepAlive;
        }

        if (file.Content is not null)
        {
            if (file.Content.Length < DirectSendBytes)
            {
                ResponseWriter.Write(Writer, file.Content);
                return keepAlive;
            }

            // A large cached body goes from its array to the socket, not through a copy in the pipe: the head
            // (and answers pipelined before it) leave first.
            await FlushAsync().ConfigureAwait(false);
            ReadOnlyMemory<byte> body = file.Content;
            while (!body.IsEmpty)
            {
                body = body[await _socket.SendAsync(body, SocketFlags.None).ConfigureAwait(false)..];
            }
            return keepAlive;
        }

        return await StreamFileAsync(file).ConfigureAwait(false) && keepAlive;
    }

    // Large files go out in chunks, each flushed, so the pipe never holds more than one chunk.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> StreamFileAsync(StaticFile file)
    {
        await using var stream = new FileStream(file.FullPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite,
            bufferSize: 0, FileOptions.Asynchronous | FileOptions.SequentialScan);
        long remaining = file.Length;
        while (remaining > 0)
        {
            var memory = Writer.GetMemory(FileChunkBytes);
            int read = await stream.ReadAsync(memory[..(int)Math.Min(memory.Length, remaining)]).ConfigureAwait(false);
            if (read == 0)
            {
                // The file shrank after its length was promised: the only honest answer left is to close.
                SetCloseReason(DisconnectReason.ServerFault);
                _server.Log.LogWarning("connection {Id}: {Path} shrank while it was being sent", Id, Request.Path);
                return false;
            }

            Writer.Advance(read);
            remaining -= read;
            await FlushAsync().ConfigureAwait(false); // each chunk that leaves restarts the write timeout
        }

        return true;
    }

    // RFC 9110 §13.1.2/§13.1.3 and §13.2.2: If-None-Match wins over If-Modified-Since; weak comparison for GET.
    private bool IsNotModified(StaticFile file)
    {
        if (Request.IfNoneMatch is { } ifNoneMatch)
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

        return HttpDate.TryParse(Request.IfModifiedSince, out var since) && file.LastModified <= since;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> ServeStreamAsync(bool keepAlive, bool http10)
    {
        var options = _server.Options;
        if (!TryReadStreamQuery(out var topics, out var lastEventId))
        {
            ResponseWriter.WriteSimple(Writer, 400, keepAlive, http10, Request.Method == RequestMethod.Head);
            _server.Metrics.Rejected(400);
            return keepAlive;
        }

        bool headOnly = Request.Method == RequestMethod.Head;
        if (!headOnly && !_server.TryReserveStream(RemoteAddress))
        {
            _server.Metrics.Rejected(429);
            ResponseWriter.WriteSimple(Writer, 429, keepAlive, http10, extraHeaderName: "Retry-After"u8, extraHeaderValue: "5");
            return keepAlive;
        }

        if (headOnly)
        {
            WriteStreamHead(Writer, options);
            ResponseWriter.WriteConnection(Writer, keepAlive, http10);
            ResponseWriter.EndHeaders(Writer);
            return keepAlive;
        }

        try
        {
            if (Writer.UnflushedBytes > 0)
            {
                await FlushAsync().ConfigureAwait(false); // answers to requests pipelined before this one go first
            }
        }
        catch
        {
            _server.ReleaseStream(RemoteAddress);
            throw;
        }

        // The head is the stream's first frame, sent like every other. The body runs until the connection
        // closes (RFC 9112 §6.3, item 8): no Content-Length, no chunking.
        var head = new ArrayBufferWriter<byte>(256);
        WriteStreamHead(head, options);
        ResponseWriter.EndHeaders(head);
        ResponseWriter.Write(head, "retry: "u8);
        ResponseWriter.WriteNumber(head, (long)options.Retry.TotalMilliseconds);
        ResponseWriter.Write(head, "\n\n"u8);

        EnterPhase(PhaseStreaming);
        _subscriber = new Subscriber(_socket, topics, _server.SubscriberLimits, _server.Hub.Counters, this);
        _subscriber.SendHead(head.WrittenSpan.ToArray());
        _server.AddSubscriber(this, _subscriber, lastEventId);
        BecomeStream();
        return false;
    }

    private static void WriteStreamHead(IBufferWriter<byte> writer, ServerOptions options)
    {
        ResponseWriter.WriteStatusLine(writer, 200);
        ResponseWriter.WriteHeader(writer, "Content-Type"u8, "text/event-stream"u8);
        ResponseWriter.WriteHeader(writer, "Cache-Control"u8, "no-cache"u8);
        // nginx buffers proxied responses unless told not to.
        ResponseWriter.WriteHeader(writer, "X-Accel-Buffering"u8, "no"u8);
        if (!string.IsNullOrEmpty(options.AllowOrigin))
        {
            ResponseWriter.WriteHeader(writer, "Access-Control-Allow-Origin"u8, options.AllowOrigin);
        }
    }

    /// <summary>
    /// The request side is done for good: the pipes and the parsed request are dropped (anything the client
    /// pipelined after its GET /sse goes with them; no answer could follow an endless response), and a zero-byte
    /// receive waits for the client's close. An idle stream then holds its socket, its subscriber and that receive.
    /// </summary>
    private void BecomeStream()
    {
        _pipeReader?.Complete();
        _pipeWriter?.Complete(); // nothing is left unflushed: the head went to the subscriber
        _pipeReader = null;
        _pipeWriter = null;
        _httpRequest = null;
        _streaming = true;
        Interlocked.MemoryBarrier(); // pairs with RequestStop: one of the two sees the other's flag
        WatchStream();
        if (_stopping)
        {
            _ = EndStreamAsync();
        }
    }

    private void WatchStream()
    {
        _onReadable = OnReadable;
        ReceiveZero();
    }

    // Waits for the client to send something or close; holds no buffer while it waits.
    private void ReceiveZero()
    {
        do
        {
            try
            {
                _readable = _socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None);
            }
            catch (Exception ex)
            {
                OnFault(ex);
                _ = CloseAsync();
                return;
            }

            if (!_readable.IsCompleted)
            {
                _readable.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(_onReadable!);
                return;
            }
        }
        while (StillOpen());
    }

    private void OnReadable()
    {
        if (StillOpen())
        {
            ReceiveZero();
        }
    }

    // Takes the receive's result. True while the client is still there; otherwise the stream is closing.
    private bool StillOpen()
    {
        try
        {
            _readable.GetAwaiter().GetResult();
            if (DiscardReceived())
            {
                return true;
            }
        }
        catch (Exception ex)
        {
            OnFault(ex);
        }

        _ = CloseAsync();
        return false;
    }

    // Reads and drops what the client sent on its stream (the socket is non-blocking). False once it has closed,
    // or has sent more than a stream client has any reason to (requests pipelined behind GET /sse are never
    // answered, so a little is tolerated; a flood is not read forever).
    private bool DiscardReceived()
    {
        Span<byte> scratch = stackalloc byte[1024];
        while (true)
        {
            int received = _socket.Receive(scratch, SocketFlags.None, out var error);
            if (error == SocketError.WouldBlock)
            {
                return true;
            }

            if (error != SocketError.Success)
            {
                throw new SocketException((int)error);
            }

            if (received == 0)
            {
                SetCloseReason(DisconnectReason.ClientClosed);
                return false;
            }

            _discardedOnStream += received;
            if (_discardedOnStream > MaxDiscardedOnStream)
            {
                SetCloseReason(DisconnectReason.ProtocolError);
                return false;
            }
        }
    }

    /// <summary>The server is stopping: the stream ends after what it has queued (a clean end of stream), then closes.</summary>
    private async Task EndStreamAsync()
    {
        if (Interlocked.Exchange(ref _streamEnding, 1) != 0)
        {
            return;
        }

        SetCloseReason(DisconnectReason.ServerStopping);
        await _subscriber!.CompleteAsync().ConfigureAwait(false);
        _socket.Dispose(); // the watcher's receive ends, and it releases the rest
    }

    /// <summary>
    /// <c>?topic=a&amp;topic=b</c> (none: the default topic) and <c>?lastEventId=</c> for clients that cannot set
    /// headers; the Last-Event-ID header wins. An over-long id is kept only as "not found" (a reset), never echoed.
    /// </summary>
    private bool TryReadStreamQuery(out string[] topics, out string? lastEventId)
    {
        topics = s_defaultTopics;
        lastEventId = Request.LastEventId;
        if (Request.Query.Length > 0)
        {
            var fields = new List<KeyValuePair<string, string>>();
            if (!FormParser.TryParse(Request.Query, fields))
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
