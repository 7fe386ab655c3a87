using System.Net;
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
    public int ReplayCapacity { get; set; } = 1000;

    /// <summary>A comment line is sent on a stream that has been quiet this long; <see cref="TimeSpan.Zero"/> sends none.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Bearer token that <c>POST /publish</c> requires; null or empty lets only loopback clients publish.</summary>
    public string? PublishToken { get; set; }

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

    /// <exception cref="ArgumentException">The first option that cannot work, named.</exception>
    public void Validate()
    {
        Check(Port is >= 0 and <= 65535, "port must be between 0 and 65535");
        Check(Directory.Exists(Root), $"root folder '{Root}' does not exist");
        Check(TickInterval >= TimeSpan.Zero, "interval must not be negative");
        Check(TickInterval == TimeSpan.Zero || TickInterval >= TimeSpan.FromMilliseconds(1), "interval must be at least 1 ms, or 0 to turn the ticker off");
        Check(Retry >= TimeSpan.Zero && Retry.TotalMilliseconds <= int.MaxValue, "retry must be a non-negative number of milliseconds");
        Check(AllowOrigin is null || IsHeaderValueSafe(AllowOrigin), "allow-origin must be a single header value");
        Check(WriteTimeout > TimeSpan.Zero, "write timeout must be positive");
        Check(MaxQueuedEvents > 0, "max queued events must be positive");
        Check(MaxQueuedBytes > 0, "max queued bytes must be positive");
        Check(ReplayCapacity is >= 0 and <= 1_000_000, "replay capacity must be between 0 and 1,000,000");
        Check(HeartbeatInterval >= TimeSpan.Zero, "heartbeat interval must not be negative");
        Check(MaxPublishBodyBytes is > 0 and <= 64 * 1024 * 1024, "max publish body must be between 1 byte and 64 MiB");
        Check(RequestTimeout > TimeSpan.Zero, "request timeout must be positive");
        Check(KeepAliveTimeout > TimeSpan.Zero, "keep-alive timeout must be positive");
        Check(MaxConnections > 0, "max connections must be positive");
        Check(MaxStreamsPerAddress >= 0, "max streams per address must not be negative");
        Check(ShutdownTimeout >= TimeSpan.Zero, "shutdown timeout must not be negative");
        Check(MaxRequestLineBytes >= 64, "max request line must be at least 64 bytes");
        Check(MaxRequestHeadersBytes >= 64, "max request headers must be at least 64 bytes");
        Check(MaxRequestHeaderCount >= 1, "max header count must be at least 1");
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
