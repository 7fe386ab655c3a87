using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using RawSse.Transport;

namespace RawSse.Http;

/// <summary>
/// HTTP/1.1 over one <see cref="SocketConnection"/>: the request loop (keep-alive, pipelining, with the answers to
/// pipelined requests flushed together), the request, keep-alive and write timeouts, rejections and the lingering
/// close. Each request goes to the handler its path routes to. A handler that answers with an endless stream hands the
/// connection over: the request side (parsed request, reader, exchange, pipes) is dropped, and the connection holds
/// only its transport and the stream until the client leaves or the stream ends.
/// </summary>
internal sealed class HttpConnection : IThreadPoolWorkItem, ICloseListener
{
    private const int MaxLingerBytes = 1024 * 1024;
    private const int MaxUnflushedBytes = 64 * 1024; // Kestrel's default MaxResponseBufferSize
    private static readonly TimeSpan LingerTime = TimeSpan.FromSeconds(2);

    private readonly ConnectionServices _services;
    private readonly SocketConnection _transport;

    // The request side (the exchange holds the parsed request and the reader), dropped when the connection becomes a stream.
    private HttpExchange? _exchange;

    private IResponseStream? _stream;
    private volatile bool _streaming;
    private volatile bool _stopping;
    private int _streamEnding;
    private PhaseClock _clock = new();
    private LazyCompletion _closed;

    public HttpConnection(Socket socket, long id, ConnectionServices services)
    {
        _services = services;
        _transport = new SocketConnection(socket, id, services.Log);
        var reader = new RequestReader(_transport.Input, services.RequestLimits);
        _exchange = new HttpExchange(this, _transport, reader, new HttpRequest(), services);
    }

    public long Id => _transport.Id;

    /// <summary>Completes when the connection is closed and everything it held is released.</summary>
    public Task Completion => _closed.Task;

    public void Start() => ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);

    void IThreadPoolWorkItem.Execute() => _ = RunAsync();

    /// <summary>Closes the socket at once; whatever runs on the connection unwinds and cleans up.</summary>
    public void Abort(DisconnectReason reason) => _transport.Abort(reason);

    /// <summary>A stop: an idle keep-alive connection closes; gracefully, a stream ends after what is queued.</summary>
    public void RequestStop(bool graceful = true)
    {
        if (graceful)
        {
            _stopping = true;
        }

        Interlocked.MemoryBarrier(); // pairs with BecomeStream: one of the two sees the other's flag
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
            _exchange?.Reader.CancelPendingRead();
        }
        catch (InvalidOperationException)
        {
            // The reader already completed: the connection is on its way out.
        }
    }

    /// <summary>
    /// Called by the shared sweep: a request not complete after the request timeout gets 408, a keep-alive connection
    /// idle past the keep-alive timeout is closed quietly, a flush with no progress within the write timeout is aborted,
    /// and a stream applies its heartbeat and write timeouts.
    /// </summary>
    public void CheckTimeouts(long now, in ConnectionTimeouts timeouts)
    {
        var phase = _clock.Phase;
        long elapsed = _clock.Elapsed(now);
        switch (phase)
        {
            case ConnectionPhase.Reading when elapsed > timeouts.RequestMs:
            case ConnectionPhase.Idle when elapsed > timeouts.KeepAliveMs:
                if (_clock.TimeOut(phase))
                {
                    RequestStop(graceful: false);
                }

                break;
            case ConnectionPhase.Responding when elapsed > timeouts.WriteMs:
                // A reader that is slow but acknowledges bytes keeps its answer; one that took nothing since the last
                // look (at most two write timeouts ago) is cut.
                if (!_clock.Progressed(_transport.BytesAcked(), now))
                {
                    _transport.Abort(DisconnectReason.WriteTimeout);
                }

                break;
            case ConnectionPhase.Streaming:
                _stream?.CheckTimeouts(now, timeouts);
                break;
        }
    }

    /// <summary>Sends what the pipe holds; the write timeout watches it.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    internal async ValueTask FlushAsync()
    {
        EnterPhase(ConnectionPhase.Responding);
        await _transport.Output.FlushAsync().ConfigureAwait(false);
    }

    /// <summary>True once the request timeout has fired on a request still being read.</summary>
    internal bool RequestTimedOut => _clock.HasTimedOut(ConnectionPhase.Reading);

    /// <summary>After <c>100 Continue</c>: the body is awaited under the request timeout again.</summary>
    internal void AwaitBody() => EnterPhase(ConnectionPhase.Reading);

    void ICloseListener.OnClosed() => _ = CloseAsync();

    private void EnterPhase(ConnectionPhase phase) => _clock.Enter(phase);

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask RunAsync()
    {
        try
        {
            await ProcessRequestsAsync(_exchange!).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            _transport.OnFault(ex);
        }
        finally
        {
            if (!_streaming)
            {
                await CloseAsync().ConfigureAwait(false); // a stream closes when its watcher sees the end
            }
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask ProcessRequestsAsync(HttpExchange exchange)
    {
        var request = exchange.Request;
        var reader = exchange.Reader;
        bool pendingFlush = false;
        while (true)
        {
            HeadResult head;
            try
            {
                head = await reader.ReadHeadAsync(request, wait: !pendingFlush).ConfigureAwait(false);
            }
            catch (BadRequestException ex)
            {
                await RejectAsync(reader, ex).ConfigureAwait(false);
                return;
            }

            switch (head)
            {
                case HeadResult.WouldWait:
                    // Nothing more is buffered: the answers to everything pipelined so far leave in one write.
                    await FlushAsync().ConfigureAwait(false);
                    EnterPhase(ConnectionPhase.Idle);
                    pendingFlush = false;
                    continue;
                case HeadResult.Partial:
                    if (_clock.Phase == ConnectionPhase.Idle)
                    {
                        EnterPhase(ConnectionPhase.Reading); // the request timeout runs from a request's first byte
                    }

                    continue;
                case HeadResult.Closed:
                    _transport.SetCloseReason(DisconnectReason.ClientClosed);
                    return;
                case HeadResult.Canceled:
                    if (RequestTimedOut)
                    {
                        // RFC 9110 §15.5.9: the server would not wait longer for the request to complete.
                        await RejectAsync(reader, new BadRequestException(408, "request not complete within the request timeout")).ConfigureAwait(false);
                    }

                    _transport.SetCloseReason(_stopping ? DisconnectReason.ServerStopping : DisconnectReason.Completed);
                    return;
            }

            if (!request.HasBody)
            {
                EnterPhase(ConnectionPhase.Responding); // the request is complete: the request timeout no longer applies
            }
            else if (_clock.Phase != ConnectionPhase.Reading)
            {
                EnterPhase(ConnectionPhase.Reading); // the request timeout covers the body
            }

            bool keepAlive = request.KeepAlive && !_stopping;
            exchange.Begin(keepAlive);
            var result = await _services.Router.DispatchAsync(exchange).ConfigureAwait(false);
            if (result.End == ExchangeEnd.Stream)
            {
                BecomeStream(result.Stream!);
                return;
            }

            request.Reset();
            if (result.End == ExchangeEnd.Close || !keepAlive)
            {
                await CloseAfterAnswerAsync(reader, result.Reason).ConfigureAwait(false);
                return;
            }

            // Answers to pipelined requests leave together, but a client that pipelines and never reads holds at most
            // this much here (plus the socket's buffer): past it, the answers so far are flushed before the next is read.
            pendingFlush = _transport.Output.UnflushedBytes < MaxUnflushedBytes;
            if (!pendingFlush)
            {
                await FlushAsync().ConfigureAwait(false);
            }

            EnterPhase(ConnectionPhase.Idle);
        }
    }

    private async ValueTask RejectAsync(RequestReader reader, BadRequestException ex)
    {
        _services.Rejected(_transport, ex.StatusCode, ex.Message);
        ResponseWriter.WriteSimple(_transport.Output, ex.StatusCode, keepAlive: false, http10: false);
        await CloseAfterAnswerAsync(reader, DisconnectReason.Completed).ConfigureAwait(false);
    }

    // RFC 9112 §9.6: close in stages, so requests the client already sent do not reset the answer away.
    private async ValueTask CloseAfterAnswerAsync(RequestReader reader, DisconnectReason reason)
    {
        await FlushAsync().ConfigureAwait(false);
        _transport.SetCloseReason(reason);
        if (!_transport.IsAborted)
        {
            EnterPhase(ConnectionPhase.Lingering);
            _transport.ShutdownSend();
            await reader.LingerAsync(LingerTime, MaxLingerBytes).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The request side is done for good. The transport drops its pipes and sends without blocking; the stream sends
    /// its head and joins its source; then the transport watches for the client's close.
    /// </summary>
    private void BecomeStream(IResponseStream stream)
    {
        EnterPhase(ConnectionPhase.Streaming);
        _stream = stream;
        _exchange = null;
        _transport.BecomeStream();
        stream.Start();
        _streaming = true;
        Interlocked.MemoryBarrier(); // pairs with RequestStop: one of the two sees the other's flag
        _transport.WatchForClose(this);
        if (_stopping)
        {
            _ = EndStreamAsync();
        }
    }

    /// <summary>The server is stopping: the stream ends after what it has queued (a clean end of stream), then closes.</summary>
    private async Task EndStreamAsync()
    {
        if (Interlocked.Exchange(ref _streamEnding, 1) != 0)
        {
            return;
        }

        _transport.SetCloseReason(DisconnectReason.ServerStopping);
        await _stream!.EndAsync().ConfigureAwait(false);
        _transport.Abort(DisconnectReason.ServerStopping); // the watcher's receive ends, and the close releases the rest
    }

    // Releases everything and closes the socket; runs once, at the end of the request loop or of a stream.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask CloseAsync()
    {
        try
        {
            _transport.SetCloseReason(DisconnectReason.Completed);
            if (_stream is { } stream)
            {
                var reason = _transport.CloseReason;
                stream.Dispose();
                _services.Metrics.Disconnected(reason);
                if (_services.Log.IsEnabled(LogLevel.Debug))
                {
                    _services.Log.LogDebug("connection {Id} ({Remote}) unsubscribed: {Reason}; {Stream}",
                        Id, _transport.Remote, DisconnectReasons.Label(reason), stream.Describe());
                }

                // Let a send in flight finish before the socket closes, or the close would be a reset. The write
                // timeout still applies to it, through the Responding phase.
                EnterPhase(ConnectionPhase.Responding);
                await stream.StopAsync().ConfigureAwait(false);
            }

            await _transport.CloseAsync().ConfigureAwait(false);
        }
        finally
        {
            _services.Connections.Remove(this);
            _closed.Set();
        }
    }
}
