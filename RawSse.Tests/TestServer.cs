using System.Net;
using Microsoft.Extensions.Logging;
using RawSse.Sse;

namespace RawSse.Tests;

/// <summary>A RawSse server started in-process on 127.0.0.1, port 0, with its log captured for assertions.</summary>
internal sealed class TestServer : IAsyncDisposable
{
    private TestServer(Server server, CapturingLoggerProvider logs, ILoggerFactory loggerFactory, string root)
    {
        Server = server;
        Logs = logs;
        _loggerFactory = loggerFactory;
        Root = root;
    }

    /// <summary>The index.html every test server's root starts with.</summary>
    /// <summary>
    /// The short Host names the suite's hand-written requests use ("Host: a"). A server bound to loopback answers only
    /// loopback names unless told others (DNS rebinding); the tests of that rule start servers with none of these.
    /// </summary>
    public static readonly IReadOnlyList<string> SuiteHosts =
        ["a", "b", "x", "y", "test", "fuzz", "probe", "junk", "warm", "half", "fault", "churn", "burst", "example.com"];

    public const string IndexHtml = "<!DOCTYPE html><title>test</title><p>hello</p>\n";

    private readonly ILoggerFactory _loggerFactory;

    public Server Server { get; }
    public Hub Hub => Server.Hub;
    public CapturingLoggerProvider Logs { get; }
    public string Root { get; }
    public int Port => Server.LocalEndPoint.Port;
    public IPEndPoint EndPoint => Server.LocalEndPoint;

    /// <summary>Streams the hub holds now, over all topics.</summary>
    public int SubscriberCount => Hub.SubscriberCount;

    /// <summary>Starts a server; <paramref name="configure"/> adjusts the options (the root defaults to a fresh temp folder with an index.html).</summary>
    public static TestServer Start(Action<ServerOptions>? configure = null, LogLevel minimumLevel = LogLevel.Debug, Hub? hub = null)
    {
        var root = Directory.CreateTempSubdirectory("rawsse-root-").FullName;
        File.WriteAllText(Path.Combine(root, "index.html"), IndexHtml);
        var options = new ServerOptions { BindAddress = IPAddress.Loopback, Port = 0, Root = root, TickInterval = TimeSpan.Zero, AllowedHosts = SuiteHosts };
        configure?.Invoke(options);
        var logs = new CapturingLoggerProvider();
        var factory = LoggerFactory.Create(b => b.SetMinimumLevel(minimumLevel).AddProvider(logs));
        var server = new Server(options, factory, hub);
        server.Start();
        return new TestServer(server, logs, factory, root);
    }

    /// <summary>Heartbeats off, so a stream carries only what a test publishes and exact bytes can be compared.</summary>
    public static TestServer StartWithoutHeartbeats(Action<ServerOptions>? configure = null) =>
        Start(o =>
        {
            o.HeartbeatInterval = TimeSpan.Zero;
            configure?.Invoke(o);
        });

    public Task<RawClient> ConnectAsync() => RawClient.ConnectAsync(EndPoint);

    /// <summary>
    /// Polls until the hub holds <paramref name="expected"/> subscribers (of <paramref name="topic"/>, or of all topics
    /// when it is null); fails with the expected and the current count when that does not happen within <paramref name="timeout"/>.
    /// </summary>
    public async Task WaitForSubscribersAsync(int expected, TimeSpan timeout, string? topic = null)
    {
        int Count() => topic is null ? Hub.SubscriberCount : Hub.CountSubscribers(topic);

        bool reached = await Polling.UntilAsync(() => Count() == expected, timeout);
        string of = topic is null ? "" : $" of '{topic}'";
        Assert.That(reached, Is.True, $"expected {expected} subscribers{of} within {timeout.TotalSeconds} s; there are {Count()}");
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        _loggerFactory.Dispose();
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
