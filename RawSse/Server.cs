using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using RawSse.Http;
using RawSse.Publishing;
using RawSse.Sse;
using RawSse.Static;

namespace RawSse;

/// <summary>
/// The accept loop, the registry of open connections, the shared timers (ticker and write-stall sweep),
/// and the staged stop: stop accepting, end every stream cleanly, wait, then abort what is left.
/// </summary>
public sealed class Server : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly ConcurrentDictionary<long, Connection> _connections = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Task> _loops = [];
    private readonly Dictionary<IPAddress, int> _streamsByAddress = []; // guarded by itself
    private readonly RateLimitedLog _rejectionLog;
    private readonly RateLimitedLog _acceptLog;
    private readonly MemoryReturn _memoryReturn;
    private long _nextConnectionId;
    private int _refusing; // refusals in flight, bounded so a flood past the limit cannot pile up tasks
    private int _maxConnections;
    private int _state; // 0 new, 1 started, 2 stopped

    /// <param name="hub">A hub to serve (see <see cref="RawSse.Sse.Hub"/>); by default the server makes its own with <see cref="ServerOptions.ReplayCapacity"/>.</param>
    public Server(ServerOptions options, ILoggerFactory? loggerFactory = null, Hub? hub = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        Log = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("RawSse");
        StaticFiles = new StaticFiles(options.Root);
        _listener = new TcpListener(options.BindAddress, options.Port);
        Hub = hub ?? new Hub(options.ReplayCapacity);
        Metrics = new ServerMetrics(() => _connections.Count, Hub);
        Publisher = new PublishEndpoint(Hub, options.PublishToken);
        _rejectionLog = new RateLimitedLog(Log, perSecond: 10);
        _acceptLog = new RateLimitedLog(Log, perSecond: 1);
        _memoryReturn = new MemoryReturn(options.MemoryReturnBurst, options.MemoryReturnMinBytes);
        SubscriberLimits = options.CreateSubscriberLimits();
    }

    /// <summary>The in-process publishing API: <c>server.Hub.Publish(topic, new SseEvent(...))</c>.</summary>
    public Hub Hub { get; }

    public ServerOptions Options { get; }

    /// <summary>Where the server listens (the real port when <see cref="ServerOptions.Port"/> was 0).</summary>
    public IPEndPoint LocalEndPoint => (IPEndPoint)_listener.LocalEndpoint;

    /// <summary>Open TCP connections, streams and plain requests alike.</summary>
    public int ConnectionCount => _connections.Count;

    internal ILogger Log { get; }
    internal StaticFiles StaticFiles { get; }
    internal ServerMetrics Metrics { get; }
    internal PublishEndpoint Publisher { get; }
    internal SubscriberLimits SubscriberLimits { get; }

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

        foreach (var connection in _connections.Values)
        {
            connection.RequestStop();
        }

        var all = Task.WhenAll(_connections.Values.Select(c => c.Completion));
        if (await Task.WhenAny(all, Task.Delay(Options.ShutdownTimeout)).ConfigureAwait(false) != all)
        {
            foreach (var connection in _connections.Values)
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

            socket.NoDelay = true;
            Metrics.Accepted();
            _memoryReturn.OnAccepted();
            long id = Interlocked.Increment(ref _nextConnectionId);
            var connection = new Connection(this, socket, id);
            _connections[id] = connection;
            connection.Start();
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

    private const int MaxRefusalsInFlight = 32;

    private static readonly byte[] s_serviceUnavailable =
        "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 24\r\nConnection: close\r\n\r\n503 Service Unavailable\n"u8.ToArray();

    // Past the connection limit: a 503 the client can read, then a close. Existing streams are untouched.
    private void Refuse(Socket socket)
    {
        Metrics.Refused();
        Metrics.Rejected(503);
        _rejectionLog.Write(LogLevel.Warning, "connection refused with 503: {Count} connections open (limit {Limit})", _connections.Count, _maxConnections);
        if (Interlocked.Increment(ref _refusing) > MaxRefusalsInFlight)
        {
            Interlocked.Decrement(ref _refusing);
            socket.Dispose();
            return;
        }

        _ = RefuseAsync(socket);
    }

    private async Task RefuseAsync(Socket socket)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            await socket.SendAsync(s_serviceUnavailable, SocketFlags.None, timeout.Token).ConfigureAwait(false);
            socket.Shutdown(SocketShutdown.Send);
            // Read what the client sent until it closes, so our close does not reset the 503 away.
            var scratch = new byte[512];
            while (await socket.ReceiveAsync(scratch, SocketFlags.None, timeout.Token).ConfigureAwait(false) > 0)
            {
            }
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
        finally
        {
            socket.Dispose();
            Interlocked.Decrement(ref _refusing);
        }
    }

    // One shared timer for every connection: heartbeats on quiet streams, subscribers whose send has stalled
    // past the write timeout, and the request, keep-alive and response timeouts. No timer per connection. It also
    // gives memory back once a burst of connections is over (see MemoryReturn).
    private async Task SweepLoopAsync(CancellationToken cancellationToken)
    {
        var timeouts = Options.ConnectionTimeouts;
        long heartbeatMs = (long)Options.HeartbeatInterval.TotalMilliseconds;
        long shortest = Math.Min(timeouts.WriteMs, Math.Min(timeouts.RequestMs, timeouts.KeepAliveMs));
        if (heartbeatMs > 0)
        {
            shortest = Math.Min(shortest, heartbeatMs);
        }

        var period = TimeSpan.FromMilliseconds(Math.Clamp(shortest / 4, 10, 1000));
        using var timer = new PeriodicTimer(period);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                long now = Environment.TickCount64;
                foreach (var subscriber in Hub.Sweep(now, heartbeatMs, timeouts.WriteMs))
                {
                    subscriber.Owner.Abort(DisconnectReason.WriteTimeout);
                }

                foreach (var connection in _connections.Values)
                {
                    connection.CheckTimeouts(now, timeouts);
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

    /// <summary>Counts a stream against its client address's cap. False when the address is at <see cref="ServerOptions.MaxStreamsPerAddress"/>.</summary>
    internal bool TryReserveStream(IPAddress address)
    {
        if (Options.MaxStreamsPerAddress == 0)
        {
            return true;
        }

        lock (_streamsByAddress)
        {
            _streamsByAddress.TryGetValue(address, out int open);
            if (open >= Options.MaxStreamsPerAddress)
            {
                return false;
            }

            _streamsByAddress[address] = open + 1;
            return true;
        }
    }

    internal void ReleaseStream(IPAddress address)
    {
        if (Options.MaxStreamsPerAddress == 0)
        {
            return;
        }

        lock (_streamsByAddress)
        {
            if (_streamsByAddress.TryGetValue(address, out int open))
            {
                if (open <= 1)
                {
                    _streamsByAddress.Remove(address);
                }
                else
                {
                    _streamsByAddress[address] = open - 1;
                }
            }
        }
    }

    internal void AddSubscriber(Connection connection, Subscriber subscriber, string? lastEventId)
    {
        Hub.Subscribe(subscriber, lastEventId);
        if (!Log.IsEnabled(LogLevel.Information))
        {
            return;
        }

        Log.LogInformation("connection {Id} ({Remote}) subscribed to {Topics}; subscribers={Count}",
            connection.Id, connection.Remote, string.Join(',', subscriber.Topics), Hub.SubscriberCount);
    }

    internal void RemoveSubscriber(Connection connection, Subscriber subscriber, DisconnectReason reason)
    {
        if (Hub.Unsubscribe(subscriber))
        {
            Metrics.Disconnected(reason);
            if (!Log.IsEnabled(LogLevel.Information))
            {
                return;
            }

            Log.LogInformation("connection {Id} ({Remote}) unsubscribed: {Reason}; subscribers={Count}",
                connection.Id, connection.Remote, DisconnectReasons.Label(reason), Hub.SubscriberCount);
        }
    }

    internal void OnConnectionClosed(Connection connection) => _connections.TryRemove(connection.Id, out _);

    /// <summary>Counts every rejection, and logs it, at most ten a second so a flood cannot fill the disk.</summary>
    internal void OnRejected(Connection connection, BadRequestException ex)
    {
        Metrics.Rejected(ex.StatusCode);
        _rejectionLog.Write(LogLevel.Information, "connection {Id} ({Remote}) rejected with {Status}: {Reason}",
            connection.Id, connection.Remote, ex.StatusCode, ex.Message);
    }
}
