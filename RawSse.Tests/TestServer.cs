using System.Collections.Concurrent;
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

    private readonly ILoggerFactory _loggerFactory;

    public Server Server { get; }
    public Hub Hub => Server.Hub;
    public CapturingLoggerProvider Logs { get; }
    public string Root { get; }
    public int Port => Server.LocalEndPoint.Port;
    public IPEndPoint EndPoint => Server.LocalEndPoint;

    /// <summary>Starts a server; <paramref name="configure"/> adjusts the options (the root defaults to a fresh temp folder with an index.html).</summary>
    public static TestServer Start(Action<ServerOptions>? configure = null, LogLevel minimumLevel = LogLevel.Debug)
    {
        var root = Directory.CreateTempSubdirectory("rawsse-root-").FullName;
        File.WriteAllText(Path.Combine(root, "index.html"), "<!DOCTYPE html><title>test</title><p>hello</p>\n");
        var options = new ServerOptions { BindAddress = IPAddress.Loopback, Port = 0, Root = root, TickInterval = TimeSpan.Zero };
        configure?.Invoke(options);
        var logs = new CapturingLoggerProvider();
        var factory = LoggerFactory.Create(b => b.SetMinimumLevel(minimumLevel).AddProvider(logs));
        var server = new Server(options, factory);
        server.Start();
        return new TestServer(server, logs, factory, root);
    }

    public Task<RawClient> ConnectAsync() => RawClient.ConnectAsync(EndPoint);

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

/// <summary>Keeps every log line, so a test can assert that no unexpected fault was logged.</summary>
internal sealed class CapturingLoggerProvider : ILoggerProvider
{
    private readonly ConcurrentQueue<(LogLevel Level, string Message, Exception? Exception)> _entries = new();

    public IReadOnlyCollection<(LogLevel Level, string Message, Exception? Exception)> Entries => _entries;

    public IEnumerable<string> Errors => _entries.Where(e => e.Level >= LogLevel.Error).Select(e => $"{e.Message} {e.Exception}");

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public void Dispose()
    {
    }

    private sealed class Logger(CapturingLoggerProvider owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner._entries.Enqueue((logLevel, formatter(state, exception), exception));
    }
}
