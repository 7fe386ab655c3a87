using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace RawSse.Tests;

/// <summary>
/// A real <c>nats-server -js</c> for the tests: on a free loopback port (the server picks it, <c>-p -1</c>), with its
/// JetStream store in a fresh temporary folder, deleted at the end. <see cref="StopAsync"/> and
/// <see cref="StartAsync"/> restart it on the same port with the same store, as an operator's restart would.
/// <see cref="Shared"/> is one server for the whole run (streams keep tests apart); a test that stops its server starts
/// its own.
/// </summary>
internal sealed partial class NatsServer : IAsyncDisposable
{
    private static readonly TimeSpan s_startTimeout = TimeSpan.FromSeconds(15);
    private static readonly Lazy<Task<NatsServer>> s_shared = new(() => StartNewAsync());

    private readonly string _storeDir = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "rawsse-nats-" + Guid.NewGuid().ToString("N"))).FullName;
    private readonly string? _config;
    private Process? _process;

    private NatsServer(string? config)
    {
        if (config is not null)
        {
            _config = Path.Combine(_storeDir, "nats.conf");
            File.WriteAllText(_config, config);
        }
    }

    /// <summary>The port clients connect to (fixed once the first start picked it).</summary>
    public int Port { get; private set; } = -1;

    public string Url => $"nats://127.0.0.1:{Port}";

    /// <summary>The <c>--store</c> value of a stream on this server (each test its own stream).</summary>
    public string StoreSpec(string stream) => $"{Url}/{stream}";

    public static Task<NatsServer> SharedAsync() => s_shared.Value;

    /// <summary>Stops the shared server, if one was started (at the end of the run).</summary>
    public static async Task DisposeSharedAsync()
    {
        if (s_shared.IsValueCreated)
        {
            await (await s_shared.Value).DisposeAsync();
        }
    }

    /// <param name="config">nats-server configuration text (e.g. <c>max_payload: 4096</c>), or none.</param>
    public static async Task<NatsServer> StartNewAsync(string? config = null)
    {
        var server = new NatsServer(config);
        await server.StartAsync();
        return server;
    }

    public static string NewStreamName() => "t" + Guid.NewGuid().ToString("N")[..16];

    public async Task StartAsync()
    {
        if (_process is not null)
        {
            throw new InvalidOperationException("nats-server is already running");
        }

        var info = new ProcessStartInfo("nats-server")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "-js", "-a", "127.0.0.1", "-p", Port.ToString(CultureInfo.InvariantCulture), "-sd", _storeDir })
        {
            info.ArgumentList.Add(arg);
        }

        if (_config is not null)
        {
            info.ArgumentList.Add("-c");
            info.ArgumentList.Add(_config);
        }

        Process process;
        try
        {
            process = Process.Start(info) ?? throw new InvalidOperationException("could not start nats-server");
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException("nats-server is not installed (Debian: apt-get install nats-server)", ex);
        }

        _process = process;
        _ = process.StandardOutput.ReadToEndAsync();
        using var cts = new CancellationTokenSource(s_startTimeout);
        var seen = new List<string>();
        bool jetStream = false;
        while (await process.StandardError.ReadLineAsync(cts.Token) is { } line)
        {
            seen.Add(line);
            jetStream |= line.Contains("Starting JetStream", StringComparison.Ordinal);
            var match = ListeningLine().Match(line);
            if (match.Success)
            {
                Port = int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
            }

            if (line.Contains("Server is ready", StringComparison.Ordinal))
            {
                if (!jetStream || Port <= 0)
                {
                    break;
                }

                _ = DrainAsync(process.StandardError); // keep reading, so a full pipe never blocks the server
                return;
            }
        }

        await StopAsync();
        throw new InvalidOperationException("nats-server did not start with JetStream:\n" + string.Join('\n', seen));
    }

    /// <summary>Kills the server (SIGKILL: nothing is flushed but what JetStream already wrote).</summary>
    public async Task StopAsync()
    {
        if (_process is { } process)
        {
            _process = null;
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            await process.WaitForExitAsync(new CancellationTokenSource(s_startTimeout).Token);
            process.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        if (Directory.Exists(_storeDir))
        {
            Directory.Delete(_storeDir, recursive: true);
        }
    }

    private static async Task DrainAsync(StreamReader reader)
    {
        try
        {
            while (await reader.ReadLineAsync() is not null)
            {
            }
        }
        catch (ObjectDisposedException)
        {
        }
    }

    [GeneratedRegex(@"Listening for client connections on [0-9.]+:(\d+)")]
    private static partial Regex ListeningLine();
}
