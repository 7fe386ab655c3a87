using System.Net;
using RawSse.Auth;
using RawSse.Http;
using RawSse.Sse;

namespace RawSse;

/// <summary>Every knob of the server, with its default. <see cref="Validate"/> refuses values that cannot work.</summary>
public sealed class ServerOptions
{
    /// <summary>Address to listen on; loopback unless told otherwise (0.0.0.0 exposes the server).</summary>
    public IPAddress BindAddress { get; set; } = IPAddress.Loopback;

    /// <summary>TCP port; 0 picks a free one (tests).</summary>
    public int Port { get; set; } = 8080;

    /// <summary>Folder of static files.</summary>
    public string Root { get; set; } = DefaultRoot();

    /// <summary>Period of the demo ticker on the default topic; <see cref="TimeSpan.Zero"/> turns it off.</summary>
    public TimeSpan TickInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>The <c>retry:</c> sent first on every stream: how long a browser waits before reconnecting.</summary>
    public TimeSpan Retry { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Value of <c>Access-Control-Allow-Origin</c> on streams; null or empty sends none.</summary>
    public string? AllowOrigin { get; set; } = "*";

    /// <summary>A send to a subscriber that has not finished after this long cuts the subscriber.</summary>
    public TimeSpan WriteTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Frames one subscriber may have queued.</summary>
    public int MaxQueuedEvents { get; set; } = 1024;

    /// <summary>Bytes one subscriber may have queued.</summary>
    public long MaxQueuedBytes { get; set; } = 1024 * 1024;

    public SlowConsumerPolicy SlowConsumerPolicy { get; set; } = SlowConsumerPolicy.Disconnect;

    /// <summary>Events each topic keeps for Last-Event-ID resumes; 0 keeps none.</summary>
    public int ReplayCapacity { get; set; } = HubLimits.Default.ReplayCount;

    /// <summary>Bytes each topic keeps for resumes (an event is charged its frame plus 64 bytes and its id).</summary>
    public long ReplayBytesPerTopic { get; set; } = HubLimits.Default.ReplayBytesPerTopic;

    /// <summary>Bytes kept for resumes across all topics; past it the oldest events go first, whatever their topic.</summary>
    public long MaxReplayBytes { get; set; } = HubLimits.Default.MaxReplayBytes;

    /// <summary>Live topics (subscribed to, or keeping events); a publish or stream that would make more gets 503.</summary>
    public int MaxTopics { get; set; } = HubLimits.Default.MaxTopics;

    /// <summary>A comment line is sent on a stream that has been quiet this long; <see cref="TimeSpan.Zero"/> sends none.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Bearer token that <c>POST /publish</c> requires; null or empty lets only loopback clients publish.</summary>
    public string? PublishToken { get; set; }

    /// <summary>HMAC secret (HS256/384/512, at least 32 bytes) that publishers' and subscribers' JWTs are signed with.</summary>
    public string? JwtKey { get; set; }

    /// <summary>A PEM file with the RSA or EC public key (RS256, ES256, ...) that publishers' and subscribers' JWTs are signed with.</summary>
    public string? JwtPublicKeyFile { get; set; }

    /// <summary>The publishers' own HMAC secret, instead of <see cref="JwtKey"/>.</summary>
    public string? PublisherJwtKey { get; set; }

    /// <summary>The publishers' own PEM public key file, instead of <see cref="JwtPublicKeyFile"/>.</summary>
    public string? PublisherJwtPublicKeyFile { get; set; }

    /// <summary>The subscribers' own HMAC secret, instead of <see cref="JwtKey"/>.</summary>
    public string? SubscriberJwtKey { get; set; }

    /// <summary>The subscribers' own PEM public key file, instead of <see cref="JwtPublicKeyFile"/>.</summary>
    public string? SubscriberJwtPublicKeyFile { get; set; }

    /// <summary>
    /// Where the history lives: null (the rings are the whole history, lost on restart), <c>memory</c> (an in-memory
    /// log behind the rings), or <c>sqlite:PATH</c> (a durable log; the file is created if missing).
    /// </summary>
    public string? Store { get; set; }

    /// <summary>
    /// <c>sqlite:</c> with <c>synchronous=FULL</c>: every commit is fsynced, so an acknowledged event survives a power
    /// loss too; the default (NORMAL) survives a process crash, and publishes faster.
    /// </summary>
    public bool StoreSynchronousFull { get; set; }

    /// <summary>With a store, events older than this are trimmed from it (and its rings keep to the same limits); null keeps them by count and bytes only.</summary>
    public TimeSpan? Retention { get; set; }

    /// <summary>Subscribers without a token receive public updates; false refuses them with 401 (needs a subscriber key).</summary>
    public bool Anonymous { get; set; } = true;

    /// <summary>Mercure's active subscriptions: subscription events, and <c>GET /.well-known/mercure/subscriptions</c>.</summary>
    public bool Subscriptions { get; set; }

    /// <summary>Distinct URI-template selectors held at once (in subscriptions and claims); a stream that would make more gets 503.</summary>
    public int MaxSelectors { get; set; } = HubLimits.Default.MaxSelectors;

    /// <summary>
    /// Origins (<c>https://app.example</c>) whose pages may publish from a browser: they pass the cross-site check, get
    /// CORS headers, and their preflights are answered. Pages of any other origin get 403.
    /// </summary>
    public IReadOnlyList<string> CorsOrigins { get; set; } = [];

    /// <summary>Host names (any port) the server answers to besides localhost, 127.0.0.1 and [::1] when bound to loopback; others get 421.</summary>
    public IReadOnlyList<string> AllowedHosts { get; set; } = [];

    /// <summary>Topics whose subscriber counts <c>/metrics</c> shows by name; no other topic name ever appears there.</summary>
    public IReadOnlyList<string> MetricsTopics { get; set; } = [];

    /// <summary>Largest <c>POST /publish</c> body accepted; a larger one gets 413.</summary>
    public int MaxPublishBodyBytes { get; set; } = 1024 * 1024;

    /// <summary>A request whose head (and body) is not complete this long after its first byte gets 408 (slowloris).</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>A keep-alive connection idle this long between requests is closed quietly.</summary>
    public TimeSpan KeepAliveTimeout { get; set; } = TimeSpan.FromSeconds(130);

    /// <summary>Open connections allowed; past it a new one gets 503 with Retry-After and is closed.</summary>
    public int MaxConnections { get; set; } = 16_384;

    /// <summary>Concurrent SSE streams allowed from one client address; 0 for no limit. Past it: 429.</summary>
    public int MaxStreamsPerAddress { get; set; }

    /// <summary>How long a graceful stop waits for streams to end before it aborts what is left.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>New connections that make a burst, after which the server gives memory back once quiet (see <see cref="MemoryReturn"/>); 0 never does.</summary>
    internal int MemoryReturnBurst { get; set; } = 1000;

    /// <summary>Committed memory beyond the heap below which a burst's collection is not worth its pause.</summary>
    internal long MemoryReturnMinBytes { get; set; } = 8 * 1024 * 1024;

    public int MaxRequestLineBytes { get; set; } = RequestLimits.Default.MaxRequestLineBytes;
    public int MaxRequestHeadersBytes { get; set; } = RequestLimits.Default.MaxHeaderBytes;
    public int MaxRequestHeaderCount { get; set; } = RequestLimits.Default.MaxHeaderCount;

    internal RequestLimits RequestLimits => new(MaxRequestLineBytes, MaxRequestHeadersBytes, MaxRequestHeaderCount);

    internal ConnectionTimeouts ConnectionTimeouts =>
        new((long)RequestTimeout.TotalMilliseconds, (long)KeepAliveTimeout.TotalMilliseconds, (long)WriteTimeout.TotalMilliseconds,
            (long)HeartbeatInterval.TotalMilliseconds);

    internal SubscriberLimits CreateSubscriberLimits() => new(MaxQueuedEvents, MaxQueuedBytes, SlowConsumerPolicy);

    internal HubLimits HubLimits => new(ReplayCapacity, ReplayBytesPerTopic, MaxReplayBytes, MaxTopics, MaxSelectors);

    internal global::RawSse.Store.LogRetention LogRetention => new(ReplayCapacity, ReplayBytesPerTopic, MaxReplayBytes, Retention);

    /// <summary>The publishers' JWT validator, or null when no publisher key is configured.</summary>
    /// <exception cref="ArgumentException">A key that cannot be used, or a key file that cannot be read.</exception>
    internal JwtValidator? CreatePublisherValidator() =>
        CreateValidator("publisher", PublisherJwtKey ?? JwtKey, PublisherJwtPublicKeyFile ?? JwtPublicKeyFile);

    /// <summary>The subscribers' JWT validator, or null when no subscriber key is configured.</summary>
    /// <exception cref="ArgumentException">A key that cannot be used, or a key file that cannot be read.</exception>
    internal JwtValidator? CreateSubscriberValidator() =>
        CreateValidator("subscriber", SubscriberJwtKey ?? JwtKey, SubscriberJwtPublicKeyFile ?? JwtPublicKeyFile);

    private static JwtValidator? CreateValidator(string role, string? secret, string? publicKeyFile)
    {
        string? pem = null;
        if (!string.IsNullOrEmpty(publicKeyFile))
        {
            try
            {
                pem = File.ReadAllText(publicKeyFile);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new ArgumentException($"{role} JWT public key file '{publicKeyFile}' cannot be read: {ex.Message}", ex);
            }
        }

        try
        {
            return JwtValidator.Create(secret, pem);
        }
        catch (ArgumentException ex)
        {
            throw new ArgumentException($"{role} JWT key: {ex.Message}", ex);
        }
    }

    /// <exception cref="ArgumentException">The first option that cannot work, named.</exception>
    public void Validate()
    {
        var day = TimeSpan.FromDays(1);
        Check(Port is >= 0 and <= 65535, "port must be between 0 and 65535");
        Check(Directory.Exists(Root), $"root folder '{Root}' does not exist");
        Check(TickInterval >= TimeSpan.Zero && TickInterval <= day, "interval must be between 0 and a day");
        Check(TickInterval == TimeSpan.Zero || TickInterval >= TimeSpan.FromMilliseconds(1), "interval must be at least 1 ms, or 0 to turn the ticker off");
        Check(Retry >= TimeSpan.Zero && Retry <= day, "retry must be between 0 and a day");
        Check(AllowOrigin is null || IsHeaderValueSafe(AllowOrigin), "allow-origin must be a single header value");
        Check(WriteTimeout > TimeSpan.Zero && WriteTimeout <= day, "write timeout must be positive, and at most a day");
        Check(MaxQueuedEvents is > 0 and <= 1_000_000, "max queued events must be between 1 and 1,000,000");
        Check(MaxQueuedBytes is >= 1024 and <= 1L << 30, "max queued bytes must be between 1 KiB and 1 GiB");
        HubLimits.Validate();
        Check(HeartbeatInterval >= TimeSpan.Zero && HeartbeatInterval <= day, "heartbeat interval must be between 0 and a day");
        Check(MaxPublishBodyBytes is > 0 and <= 64 * 1024 * 1024, "max publish body must be between 1 byte and 64 MiB");
        Check(RequestTimeout > TimeSpan.Zero && RequestTimeout <= day, "request timeout must be positive, and at most a day");
        Check(KeepAliveTimeout > TimeSpan.Zero && KeepAliveTimeout <= day, "keep-alive timeout must be positive, and at most a day");
        Check(MaxConnections is > 0 and <= 1_000_000, "max connections must be between 1 and 1,000,000");
        Check(MaxStreamsPerAddress >= 0 && MaxStreamsPerAddress <= MaxConnections, "max streams per address must be between 0 and max connections");
        Check(ShutdownTimeout >= TimeSpan.Zero && ShutdownTimeout <= TimeSpan.FromMinutes(10), "shutdown timeout must be between 0 and 10 minutes");
        Check(MaxRequestLineBytes is >= 64 and <= 1024 * 1024, "max request line must be between 64 bytes and 1 MiB");
        Check(MaxRequestHeadersBytes is >= 64 and <= 16 * 1024 * 1024, "max request headers must be between 64 bytes and 16 MiB");
        Check(MaxRequestHeaderCount is >= 1 and <= 10_000, "max header count must be between 1 and 10,000");
        foreach (var origin in CorsOrigins)
        {
            Check(IsOrigin(origin), $"cors origin '{origin}' must be a scheme and host, like https://app.example or http://localhost:3000");
        }

        foreach (var host in AllowedHosts)
        {
            Check(host.Length is > 0 and <= 255 && IsHeaderValueSafe(host) && !host.Contains(' ') && !host.Contains(','), $"allowed host '{host}' must be one host name");
        }

        Check(global::RawSse.Store.EventLogs.IsValidSpec(Store), "store must be memory, sqlite:PATH or nats://HOST:PORT[/STREAM]");
        Check(Retention is null || (Retention > TimeSpan.Zero && Retention <= TimeSpan.FromDays(3650)), "retention must be positive, and at most ten years");
        var subscriberKey = CreateSubscriberValidator();
        _ = CreatePublisherValidator();
        Check(Anonymous || subscriberKey is not null, "anonymous false needs a subscriber key (--jwt-key, --jwt-public-key or --subscriber-jwt-key)");
        Check(MetricsTopics.Count <= 100 && MetricsTopics.All(Hub.IsValidTopic), "metrics topics: at most 100 valid topic names");
    }

    private static void Check(bool ok, string message)
    {
        if (!ok)
        {
            throw new ArgumentException(message);
        }
    }

    /// <summary><c>./public</c> when run from the repository, else the copy that ships beside the executable.</summary>
    public static string DefaultRoot()
    {
        var local = Path.GetFullPath("public");
        return Directory.Exists(local) ? local : Path.Combine(AppContext.BaseDirectory, "public");
    }

    // RFC 6454: scheme "://" host [ ":" port ], exactly as a browser sends it in Origin (no path, user or query).
    private static bool IsOrigin(string origin) =>
        IsHeaderValueSafe(origin) && Uri.TryCreate(origin, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
        && string.Equals(origin.TrimEnd('/'), $"{uri.Scheme}://{uri.Authority}", StringComparison.OrdinalIgnoreCase);

    // A header value the server writes must be visible ASCII or space: no CR, LF, NUL or other controls.
    private static bool IsHeaderValueSafe(string value)
    {
        foreach (char c in value)
        {
            if (c < 0x20 || c >= 0x7F)
            {
                return false;
            }
        }

        return true;
    }
}
