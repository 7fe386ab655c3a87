using System.CommandLine;
using System.Net;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using RawSse;
using RawSse.Sse;

// Socket completions run on the runtime's event thread (one per core) instead of hopping to the thread pool:
// nothing on a connection's path blocks, and the hop and the context switch it costs were a quarter of a static
// file's CPU. The runtime reads this once, when the first socket is made; set it to 0 to keep the hop.
const string InlineCompletions = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";
if (Environment.GetEnvironmentVariable(InlineCompletions) is null)
{
    Environment.SetEnvironmentVariable(InlineCompletions, "1");
}

var defaults = new ServerOptions();
var port = new Option<int>("--port") { Description = "TCP port to listen on", DefaultValueFactory = _ => defaults.Port };
var bind = new Option<string>("--bind") { Description = "Address to listen on (0.0.0.0 to expose)", DefaultValueFactory = _ => defaults.BindAddress.ToString() };
// Checked in the parse, so that a bad value from the environment is reported with its variable's name.
bind.Validators.Add(result =>
{
    if (!IPAddress.TryParse(result.GetValueOrDefault<string>(), out _))
    {
        result.AddError($"--bind '{result.GetValueOrDefault<string>()}' is not an IP address");
    }
});
var root = new Option<string>("--root") { Description = "Folder of static files", DefaultValueFactory = _ => defaults.Root };
var interval = new Option<int>("--interval") { Description = "Ticker period in ms on the default topic; 0 turns it off", DefaultValueFactory = _ => (int)defaults.TickInterval.TotalMilliseconds };
var allowOrigin = new Option<string>("--allow-origin") { Description = "Access-Control-Allow-Origin sent on streams; empty sends none", DefaultValueFactory = _ => defaults.AllowOrigin ?? "" };
var logLevel = new Option<LogLevel>("--log-level") { Description = "Trace, Debug, Information, Warning, Error, Critical or None", DefaultValueFactory = _ => LogLevel.Information };
var logFormat = new Option<string>("--log-format") { Description = "Log lines as simple text or as json (one JSON object a line, for a log collector)", DefaultValueFactory = _ => "simple" };
logFormat.AcceptOnlyFromAmong("simple", "json");
var heartbeat = new Option<int>("--heartbeat") { Description = "Comment line on a stream quiet this many ms; 0 turns heartbeats off", DefaultValueFactory = _ => (int)defaults.HeartbeatInterval.TotalMilliseconds };
var retry = new Option<int>("--retry") { Description = "Reconnection delay in ms sent to clients (retry:)", DefaultValueFactory = _ => (int)defaults.Retry.TotalMilliseconds };
var replay = new Option<int>("--replay") { Description = "Events each topic keeps for Last-Event-ID resumes", DefaultValueFactory = _ => defaults.ReplayCapacity };
var replayBytes = new Option<long>("--replay-bytes") { Description = "Bytes each topic keeps for resumes (an event costs its frame plus 64 bytes and its id)", DefaultValueFactory = _ => defaults.ReplayBytesPerTopic };
var maxReplayMemory = new Option<long>("--max-replay-memory") { Description = "Bytes kept for resumes across all topics; past it the oldest events go first", DefaultValueFactory = _ => defaults.MaxReplayBytes };
var maxTopics = new Option<int>("--max-topics") { Description = "Live topics allowed; a publish or stream that would make more gets 503", DefaultValueFactory = _ => defaults.MaxTopics };
var corsOrigins = new Option<string[]>("--cors-origins") { Description = "Origins whose pages may publish from a browser (comma-separated or repeated); other pages get 403", AllowMultipleArgumentsPerToken = true };
var allowedHosts = new Option<string[]>("--allowed-hosts") { Description = "Host names answered besides localhost, 127.0.0.1 and [::1] when bound to loopback; others get 421", AllowMultipleArgumentsPerToken = true };
var metricsTopics = new Option<string[]>("--metrics-topics") { Description = "Topics whose subscriber counts /metrics shows by name", AllowMultipleArgumentsPerToken = true };
var publishToken = new Option<string?>("--publish-token") { Description = "Bearer token for POST /publish; without one, only loopback clients may publish" };
var jwtKey = new Option<string?>("--jwt-key") { Description = "HMAC secret (HS256, at least 32 bytes) of publishers' and subscribers' JWTs" };
var jwtPublicKey = new Option<string?>("--jwt-public-key") { Description = "PEM file with the RSA or EC public key (RS256, ES256) of publishers' and subscribers' JWTs" };
var publisherJwtKey = new Option<string?>("--publisher-jwt-key") { Description = "HMAC secret of publishers' JWTs, instead of --jwt-key" };
var publisherJwtPublicKey = new Option<string?>("--publisher-jwt-public-key") { Description = "PEM public key file of publishers' JWTs, instead of --jwt-public-key" };
var subscriberJwtKey = new Option<string?>("--subscriber-jwt-key") { Description = "HMAC secret of subscribers' JWTs, instead of --jwt-key" };
var subscriberJwtPublicKey = new Option<string?>("--subscriber-jwt-public-key") { Description = "PEM public key file of subscribers' JWTs, instead of --jwt-public-key" };
var anonymous = new Option<bool>("--anonymous") { Description = "Let subscribers without a token receive public updates; false answers them 401", DefaultValueFactory = _ => defaults.Anonymous, Arity = ArgumentArity.ExactlyOne };
var subscriptions = new Option<bool>("--subscriptions") { Description = "Mercure's active subscriptions: subscription events and GET /.well-known/mercure/subscriptions", DefaultValueFactory = _ => defaults.Subscriptions, Arity = ArgumentArity.ZeroOrOne };
var maxSelectors = new Option<int>("--max-selectors") { Description = "Distinct URI-template selectors held at once; a stream that would make more gets 503", DefaultValueFactory = _ => defaults.MaxSelectors };
var store = new Option<string?>("--store") { Description = "Where the history lives: memory, sqlite:PATH, or nats://HOST:PORT[/STREAM] (a JetStream stream shared by several nodes); none: the rings only, lost on restart" };
var storeSync = new Option<string>("--store-sync") { Description = "sqlite: normal (an acknowledged event survives a crash of the process) or full (and a power loss; slower)", DefaultValueFactory = _ => "normal" };
storeSync.AcceptOnlyFromAmong("normal", "full");
var retention = new Option<int?>("--retention") { Description = "With a store: seconds an event is kept at most (besides --replay and the byte limits)" };
var maxBody = new Option<int>("--max-body-bytes") { Description = "Largest POST /publish body", DefaultValueFactory = _ => defaults.MaxPublishBodyBytes };
var queueEvents = new Option<int>("--queue-events") { Description = "Events one subscriber may have queued", DefaultValueFactory = _ => defaults.MaxQueuedEvents };
var queueBytes = new Option<long>("--queue-bytes") { Description = "Bytes one subscriber may have queued", DefaultValueFactory = _ => defaults.MaxQueuedBytes };
var slowConsumer = new Option<string>("--slow-consumer") { Description = "When a subscriber's queue is full: disconnect or drop-oldest", DefaultValueFactory = _ => "disconnect" };
slowConsumer.AcceptOnlyFromAmong("disconnect", "drop-oldest");
var writeTimeout = new Option<int>("--write-timeout") { Description = "A send stalled this many ms cuts the subscriber", DefaultValueFactory = _ => (int)defaults.WriteTimeout.TotalMilliseconds };
var requestTimeout = new Option<int>("--request-timeout") { Description = "A request not complete this many ms after its first byte gets 408", DefaultValueFactory = _ => (int)defaults.RequestTimeout.TotalMilliseconds };
var keepAliveTimeout = new Option<int>("--keepalive-timeout") { Description = "A keep-alive connection idle this many ms is closed", DefaultValueFactory = _ => (int)defaults.KeepAliveTimeout.TotalMilliseconds };
var maxConnections = new Option<int>("--max-connections") { Description = "Open connections allowed; past it new ones get 503", DefaultValueFactory = _ => defaults.MaxConnections };
var maxStreamsPerIp = new Option<int>("--max-streams-per-ip") { Description = "Concurrent SSE streams per client address; 0 for no limit", DefaultValueFactory = _ => defaults.MaxStreamsPerAddress };
var shutdownTimeout = new Option<int>("--shutdown-timeout") { Description = "Grace period in ms for streams to end on stop", DefaultValueFactory = _ => (int)defaults.ShutdownTimeout.TotalMilliseconds };
var maxRequestLine = new Option<int>("--max-request-line") { Description = "Longest request line in bytes; longer gets 414", DefaultValueFactory = _ => defaults.MaxRequestLineBytes };
var maxHeaderBytes = new Option<int>("--max-header-bytes") { Description = "Largest header section in bytes; larger gets 431", DefaultValueFactory = _ => defaults.MaxRequestHeadersBytes };
var maxHeaders = new Option<int>("--max-headers") { Description = "Most header fields; more gets 431", DefaultValueFactory = _ => defaults.MaxRequestHeaderCount };

var command = new RootCommand("RawSse: a Server-Sent Events server on raw sockets. Serves a folder and holds /sse streams open.")
{
    port, bind, root, interval, allowOrigin, logLevel, logFormat, heartbeat, retry, replay, replayBytes, maxReplayMemory, maxTopics, corsOrigins, allowedHosts, metricsTopics, publishToken,
    jwtKey, jwtPublicKey, publisherJwtKey, publisherJwtPublicKey, subscriberJwtKey, subscriberJwtPublicKey, anonymous, subscriptions, maxSelectors, store, storeSync, retention, maxBody, queueEvents, queueBytes, slowConsumer, writeTimeout,
    requestTimeout, keepAliveTimeout, maxConnections, maxStreamsPerIp, shutdownTimeout, maxRequestLine, maxHeaderBytes, maxHeaders,
};

// Every option is also RAWSSE_<NAME> (--max-connections: RAWSSE_MAX_CONNECTIONS); the command line wins.
var environment = EnvironmentOptions.For(command);
var parsed = environment.Parse(args, out var errors);
if (errors.Count > 0)
{
    foreach (var error in errors)
    {
        Console.Error.WriteLine($"rawsse: {error}");
    }

    Console.Error.WriteLine("Try 'rawsse --help'.");
    return 2;
}

command.SetAction(async (result, _) =>
{
    var options = new ServerOptions
    {
        BindAddress = IPAddress.Parse(result.GetValue(bind)!),
        Port = result.GetValue(port),
        Root = Path.GetFullPath(result.GetValue(root)!),
        TickInterval = TimeSpan.FromMilliseconds(result.GetValue(interval)),
        AllowOrigin = result.GetValue(allowOrigin),
        HeartbeatInterval = TimeSpan.FromMilliseconds(result.GetValue(heartbeat)),
        Retry = TimeSpan.FromMilliseconds(result.GetValue(retry)),
        ReplayCapacity = result.GetValue(replay),
        ReplayBytesPerTopic = result.GetValue(replayBytes),
        MaxReplayBytes = result.GetValue(maxReplayMemory),
        MaxTopics = result.GetValue(maxTopics),
        CorsOrigins = SplitList(result.GetValue(corsOrigins)),
        AllowedHosts = SplitList(result.GetValue(allowedHosts)),
        MetricsTopics = SplitList(result.GetValue(metricsTopics)),
        PublishToken = result.GetValue(publishToken),
        JwtKey = result.GetValue(jwtKey),
        JwtPublicKeyFile = result.GetValue(jwtPublicKey),
        PublisherJwtKey = result.GetValue(publisherJwtKey),
        PublisherJwtPublicKeyFile = result.GetValue(publisherJwtPublicKey),
        SubscriberJwtKey = result.GetValue(subscriberJwtKey),
        SubscriberJwtPublicKeyFile = result.GetValue(subscriberJwtPublicKey),
        Anonymous = result.GetValue(anonymous),
        Subscriptions = result.GetValue(subscriptions),
        MaxSelectors = result.GetValue(maxSelectors),
        Store = result.GetValue(store),
        StoreSynchronousFull = result.GetValue(storeSync) == "full",
        Retention = result.GetValue(retention) is int seconds ? TimeSpan.FromSeconds(seconds) : null,
        MaxPublishBodyBytes = result.GetValue(maxBody),
        MaxQueuedEvents = result.GetValue(queueEvents),
        MaxQueuedBytes = result.GetValue(queueBytes),
        SlowConsumerPolicy = result.GetValue(slowConsumer) == "drop-oldest" ? SlowConsumerPolicy.DropOldest : SlowConsumerPolicy.Disconnect,
        WriteTimeout = TimeSpan.FromMilliseconds(result.GetValue(writeTimeout)),
        RequestTimeout = TimeSpan.FromMilliseconds(result.GetValue(requestTimeout)),
        KeepAliveTimeout = TimeSpan.FromMilliseconds(result.GetValue(keepAliveTimeout)),
        MaxConnections = result.GetValue(maxConnections),
        MaxStreamsPerAddress = result.GetValue(maxStreamsPerIp),
        ShutdownTimeout = TimeSpan.FromMilliseconds(result.GetValue(shutdownTimeout)),
        MaxRequestLineBytes = result.GetValue(maxRequestLine),
        MaxRequestHeadersBytes = result.GetValue(maxHeaderBytes),
        MaxRequestHeaderCount = result.GetValue(maxHeaders),
    };

    try
    {
        options.Validate();
    }
    catch (ArgumentException ex)
    {
        Console.Error.WriteLine($"rawsse: {ex.Message}");
        if (environment.Used.Count > 0)
        {
            Console.Error.WriteLine($"rawsse: (set from the environment: {string.Join(", ", environment.Used)})");
        }

        return 2;
    }

    bool json = result.GetValue(logFormat) == "json";
    using var loggerFactory = LoggerFactory.Create(logging =>
    {
        logging.SetMinimumLevel(result.GetValue(logLevel));
        if (json)
        {
            // The console logger's own JSON formatter: one object a line (Timestamp, EventId, LogLevel, Category,
            // Message, State). A collector reads UTC, with the date, to the millisecond.
            logging.AddJsonConsole(console =>
            {
                console.UseUtcTimestamp = true;
                console.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
            });
        }
        else
        {
            logging.AddSimpleConsole(console =>
            {
                console.SingleLine = true;
                console.TimestampFormat = "HH:mm:ss.fff ";
            });
        }

        // A slow terminal or pipe must not stall the server: past the queue's length lines are dropped, and the
        // logger writes how many it dropped.
        logging.AddConsole(console =>
        {
            console.QueueFullMode = Microsoft.Extensions.Logging.Console.ConsoleLoggerQueueFullMode.DropWrite;
            console.MaxQueueLength = 10_000;
        });
    });

    Server created;
    try
    {
        created = new Server(options, loggerFactory);
    }
    catch (RawSse.Store.EventLogUnavailableException ex)
    {
        Console.Error.WriteLine($"rawsse: {ex.Message}");
        return 2;
    }

    await using var server = created;
    try
    {
        server.Start();
    }
    catch (System.Net.Sockets.SocketException ex)
    {
        Console.Error.WriteLine($"rawsse: cannot listen on {options.BindAddress}:{options.Port}: {ex.Message}");
        return 1;
    }

    var host = options.BindAddress.Equals(IPAddress.Loopback) ? "localhost" : options.BindAddress.ToString();
    var publishing = (string.IsNullOrEmpty(options.PublishToken), options.PublisherJwtKey ?? options.JwtKey ?? options.PublisherJwtPublicKeyFile ?? options.JwtPublicKeyFile) switch
    {
        (true, null) => "publish: loopback only",
        (false, null) => "publish: bearer token",
        (true, _) => "publish: JWT",
        (false, _) => "publish: bearer token or JWT",
    };
    Console.WriteLine($"RawSse listening on http://{host}:{server.LocalEndPoint.Port}/ serving {server.Options.Root} ({publishing}; history: {(server.Hub.Log is { } log ? $"{RawSse.Store.EventLogs.Describe(options.Store)}, epoch {log.Epoch}, head {log.Head}" : "in memory")}; Ctrl+C to stop)");

    // Ctrl+C and SIGTERM both stop gracefully; the runtime's default handling is cancelled.
    var stop = new TaskCompletionSource();
    using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Handle);
    using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Handle);
    await stop.Task.ConfigureAwait(false);
    await server.StopAsync().ConfigureAwait(false);
    Console.WriteLine("RawSse stopped");
    return 0;

    void Handle(PosixSignalContext context)
    {
        context.Cancel = true;
        stop.TrySetResult();
    }
});

// "a,b" and "a b" and a repeated option all give [a, b].
static string[] SplitList(string[]? values) =>
    values is null ? [] : [.. values.SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))];

// The server handles SIGINT/SIGTERM itself (graceful stop); System.CommandLine's own handler would race it
// and, on a second signal after the action returned, cancel a disposed token.
return await parsed.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
