using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using RawSse.Auth;
using RawSse.Health;
using RawSse.Http;
using RawSse.Mercure;
using RawSse.Metrics;
using RawSse.Publishing;
using RawSse.Sse;
using RawSse.Static;
using RawSse.Store;
using RawSse.Transport;

namespace RawSse;

/// <summary>
/// The composition root and the accept loop: builds the services and the route table once, hands each accepted socket
/// to an <see cref="HttpConnection"/>, runs the shared timers (the ticker, and one sweep that applies every connection's
/// and every stream's timeouts), and stops in stages: stop accepting, end every stream cleanly, wait, then abort.
/// </summary>
public sealed class Server : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly ConnectionRegistry _connections = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Task> _loops = [];
    private readonly ConnectionServices _services;
    private readonly ConnectionRefusal _refusal = new();
    private readonly RateLimitedLog _rejectionLog;
    private readonly RateLimitedLog _acceptLog;
    private readonly MemoryReturn _memoryReturn;
    private readonly IEventLog? _log;
    private long _nextConnectionId;
    private int _maxConnections;
    private int _state; // 0 new, 1 started, 2 stopped

    /// <param name="hub">A hub to serve (see <see cref="RawSse.Sse.Hub"/>); by default the server makes its own with the options' replay and topic limits.</param>
    public Server(ServerOptions options, ILoggerFactory? loggerFactory = null, Hub? hub = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        Log = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("RawSse");
        _listener = new TcpListener(options.BindAddress, options.Port);
        if (hub is null)
        {
            // The server owns a log it opened (and closes it on dispose); a hub handed in brings its own, or none.
            _log = EventLogs.Open(options.Store, options.LogRetention, Log, options.StoreSynchronousFull);
        }

        Hub = hub ?? new Hub(options.HubLimits, _log);
        Hub.PublishesSubscriptions |= options.Subscriptions;
        Metrics = new ServerMetrics(() => _connections.Count, Hub, options.MetricsTopics);
        _rejectionLog = new RateLimitedLog(Log, perSecond: 10);
        _acceptLog = new RateLimitedLog(Log, perSecond: 1);
        _memoryReturn = new MemoryReturn(options.MemoryReturnBurst, options.MemoryReturnMinBytes);

        // The route table: an endpoint is a handler and one line here. The native endpoints and Mercure's share their
        // handlers, so one set of rules authorizes both.
        var hosts = new HostPolicy(loopbackOnly: IPAddress.IsLoopback(options.BindAddress), options.AllowedHosts);
        var crossOrigin = new CrossOriginPolicy(options.CorsOrigins);
        var subscribeAuthorizer = new SubscribeAuthorizer(options.CreateSubscriberValidator(), options.Anonymous, crossOrigin);
        var leases = new StreamLeases(options.MaxStreamsPerAddress);
        var subscriberLimits = options.CreateSubscriberLimits();
        long retryMs = (long)options.Retry.TotalMilliseconds;
        var publish = new PublishHandler(new PublishAuthorizer(options.PublishToken, options.CreatePublisherValidator()), crossOrigin,
            answersPreflights: options.CorsOrigins.Count > 0, new PublishForm(Hub, options.MaxQueuedBytes, new RateLimitedLog(Log, perSecond: 1, windowMs: 60_000)), options.MaxPublishBodyBytes);
        var router = new Router(fallback: new StaticFileHandler(new StaticFiles(options.Root), Log), hosts)
        {
            ["/sse"] = new StreamHandler(Hub, leases, subscriberLimits, new StreamHandler.Settings(retryMs, options.AllowOrigin), subscribeAuthorizer, crossOrigin, Log),
            ["/publish"] = publish,
            [MercureHandler.Path] = new MercureHandler(
                new StreamHandler(Hub, leases, subscriberLimits, new StreamHandler.Settings(retryMs, options.AllowOrigin, RequireTopic: true), subscribeAuthorizer, crossOrigin, Log),
                publish),
            [ActiveSubscription.Prefix + "/*"] = new SubscriptionsHandler(Hub, subscribeAuthorizer, crossOrigin),
            ["/metrics"] = new MetricsHandler(Metrics),
            ["/healthz"] = HealthHandler.Liveness(),
            ["/readyz"] = HealthHandler.Readiness(Hub),
        };
        _services = new ConnectionServices(options.RequestLimits, router, _connections, Metrics, Log, _rejectionLog);
    }

    /// <summary>The in-process publishing API: <c>server.Hub.Publish(topic, new SseEvent(...))</c>.</summary>
    public Hub Hub { get; }

    public ServerOptions Options { get; }

    /// <summary>Where the server listens (the real port when <see cref="ServerOptions.Port"/> was 0).</summary>
    public IPEndPoint LocalEndPoint => (IPEndPoint)_listener.LocalEndpoint;

    /// <summary>Open TCP connections, streams and plain requests alike.</summary>
    public int ConnectionCount => _connections.Count;

    internal ILogger Log { get; }
    internal ServerMetrics Metrics { get; }

    public void Start()
    {
        if (Interlocked.CompareExchange(ref _state, 1, 0) != 0)
        {
            throw new InvalidOperationException("the server has already been started");
        }

        _maxConnections = LimitByOpenFiles(Options.MaxConnections);
        _listener.Server.NoDelay = true;
        _listener.Start(backlog: 4096);
        var token = _stopping.Token;
        _loops.Add(Task.Run(() => AcceptLoopAsync(token), CancellationToken.None));
        _loops.Add(Task.Run(() => SweepLoopAsync(token), CancellationToken.None));
        if (Options.TickInterval > TimeSpan.Zero)
        {
            _loops.Add(Task.Run(() => new Ticker(Hub, Options.TickInterval).RunAsync(token), CancellationToken.None));
        }
    }

    /// <summary>
    /// Stops in stages: no new connections, every stream ends after what it has queued (a clean end of
    /// stream), idle keep-alive connections close; whatever is still open after the shutdown timeout is aborted.
    /// </summary>
    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref _state, 2) != 1)
        {
            return;
        }

        _stopping.Cancel();
        _listener.Stop();
        await Task.WhenAll(_loops).ConfigureAwait(false);

        foreach (var connection in _connections.All)
        {
            connection.RequestStop();
        }

        var all = Task.WhenAll(_connections.All.Select(c => c.Completion));
        if (await Task.WhenAny(all, Task.Delay(Options.ShutdownTimeout)).ConfigureAwait(false) != all)
        {
            foreach (var connection in _connections.All)
            {
                connection.Abort(DisconnectReason.ServerStopping);
            }

            try
            {
                await all.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                Log.LogError("{Count} connections did not close within 5 s of being aborted", _connections.Count);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _listener.Dispose();
        if (_log is not null)
        {
            await _log.DisposeAsync().ConfigureAwait(false);
        }

        Metrics.Dispose();
        _stopping.Dispose();
    }

    private async Task AcceptLoopAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptSocketAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException ex)
            {
                // Out of descriptors, or a connection reset before it was accepted: log, breathe, go on.
                _acceptLog.Write(LogLevel.Warning, "accept failed: {Error}", ex.SocketErrorCode);
                await Task.Delay(10, CancellationToken.None).ConfigureAwait(false);
                continue;
            }
            catch (Exception ex) when (ex is not ObjectDisposedException)
            {
                _acceptLog.Write(LogLevel.Error, "accept failed: {Error}", ex);
                await Task.Delay(100, CancellationToken.None).ConfigureAwait(false);
                continue;
            }

            if (_connections.Count >= _maxConnections)
            {
                Refuse(socket);
                continue;
            }

            Metrics.Accepted();
            _memoryReturn.OnAccepted();
            var connection = new HttpConnection(socket, Interlocked.Increment(ref _nextConnectionId), _services);
            _connections.Add(connection);
            connection.Start();
        }
    }

    private async Task TrimAsync(IEventLog log)
    {
        try
        {
            await log.TrimAsync().ConfigureAwait(false);
        }
        catch (EventLogUnavailableException ex)
        {
            _acceptLog.Write(LogLevel.Warning, "trimming the event store failed: {Reason}", ex.Message);
        }
    }

    // Running out of descriptors breaks more than accept (the runtime needs some for itself, and its JIT fails
    // hard without them), so the connection limit stays below the process's open-file limit, with room for the
    // runtime's own (about 90 at start) and for refusals in flight.
    private int LimitByOpenFiles(int configured)
    {
        const int Reserve = 256;
        if (!OpenFileLimit.TryRead(out long limit) || limit - Reserve >= configured)
        {
            return configured;
        }

        int capped = (int)Math.Max(64, limit - Reserve);
        Log.LogWarning("max connections lowered from {Configured} to {Capped}: the open-file limit is {Limit}", configured, capped, limit);
        return capped;
    }

    // Past the connection limit: counted and logged (at a bounded rate), then answered 503 and closed.
    private void Refuse(Socket socket)
    {
        Metrics.Refused();
        Metrics.Rejected(503);
        _rejectionLog.Write(LogLevel.Warning, "connection refused with 503: {Count} connections open (limit {Limit})", _connections.Count, _maxConnections);
        _refusal.Refuse(socket);
    }

    // One shared timer for every connection: the request, keep-alive and response timeouts, and on streams heartbeats
    // and the write-stall timeout. No timer per connection, and no hub lock held while it walks them. It also gives
    // memory back once a burst of connections is over (see MemoryReturn).
    private async Task SweepLoopAsync(CancellationToken cancellationToken)
    {
        var timeouts = Options.ConnectionTimeouts;
        long shortest = Math.Min(timeouts.WriteMs, Math.Min(timeouts.RequestMs, timeouts.KeepAliveMs));
        if (timeouts.HeartbeatMs > 0)
        {
            shortest = Math.Min(shortest, timeouts.HeartbeatMs);
        }

        var period = TimeSpan.FromMilliseconds(Math.Clamp(shortest / 4, 10, 1000));
        using var timer = new PeriodicTimer(period);
        long lastTrim = Environment.TickCount64;
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                long now = Environment.TickCount64;
                foreach (var connection in _connections.All)
                {
                    connection.CheckTimeouts(now, timeouts);
                }

                if (_log is not null && now - lastTrim >= 1000)
                {
                    lastTrim = now;
                    _ = TrimAsync(_log); // in the background: the log trims between appends, never under them
                }

                if (_memoryReturn.TryReturn(now, Interlocked.Read(ref _nextConnectionId)) is { } returned)
                {
                    Log.LogInformation("a burst of connections is over: returned {Megabytes:F1} MB of memory (the collection paused {Milliseconds:F0} ms)",
                        returned.ReturnedBytes / (1024.0 * 1024), returned.Pause.TotalMilliseconds);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }
}
