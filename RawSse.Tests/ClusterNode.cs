using System.Diagnostics;
using System.Globalization;

namespace RawSse.Tests;

/// <summary>
/// One RawSse process of a test cluster: the executable with <c>--store</c> on a shared JetStream stream, on a port of
/// its own. <see cref="Kill"/> is SIGKILL; disposing kills it too, so a failed assertion leaves nothing running.
/// </summary>
internal sealed class ClusterNode : IDisposable
{
    private const int KeptLines = 100;

    private readonly Process _process;
    private readonly Queue<string> _output; // guarded by itself: the node's last lines, for a failure's report

    private ClusterNode(Process process, int port, Queue<string> output)
    {
        _process = process;
        Port = port;
        _output = output;
    }

    public int Port { get; }

    public bool HasExited => _process.HasExited;

    public static async Task<ClusterNode> StartAsync(string store, params string[] extra)
    {
        string[] args = ["--port", "0", "--interval", "0", "--log-level", "Warning", "--root", RepoPaths.Public, "--store", store, .. extra];
        var process = ProcessTests.StartServer(args);
        try
        {
            _ = process.StandardError.ReadToEndAsync(); // never let a full pipe block the node
            var output = new Queue<string>();
            int port = await ProcessTests.ReadListeningPortAsync(process, line =>
            {
                lock (output)
                {
                    output.Enqueue(line);
                    if (output.Count > KeptLines)
                    {
                        output.Dequeue();
                    }
                }
            });
            return new ClusterNode(process, port, output);
        }
        catch
        {
            process.Kill();
            process.Dispose();
            throw;
        }
    }

    public static async Task<ClusterNode[]> StartManyAsync(int count, string store, params string[] extra) =>
        await Task.WhenAll(Enumerable.Range(0, count).Select(_ => StartAsync(store, extra)));

    /// <summary>The node's open streams: the <c>rawsse_subscribers</c> gauge of its <c>/metrics</c>.</summary>
    /// <summary>The status of GET <paramref name="path"/> on this node (<c>/readyz</c>, <c>/healthz</c>).</summary>
    public async Task<int> StatusAsync(string path, CancellationToken cancellationToken)
    {
        using var http = Loopback.NewHttpClient(Port, TimeSpan.FromSeconds(5));
        using var response = await http.GetAsync(path, cancellationToken);
        return (int)response.StatusCode;
    }

    /// <summary>The value of the unlabelled metric <paramref name="name"/> in this node's <c>/metrics</c>.</summary>
    public async Task<double> MetricAsync(string name, CancellationToken cancellationToken)
    {
        using var http = Loopback.NewHttpClient(Port, TimeSpan.FromSeconds(5));
        string text = await http.GetStringAsync("/metrics", cancellationToken);
        string line = text.Split('\n').SingleOrDefault(l => l.StartsWith(name + " ", StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"no {name} in the /metrics of the node on {Port}: {text}");
        return double.Parse(line.AsSpan(name.Length + 1), NumberStyles.Float, CultureInfo.InvariantCulture);
    }

    public async Task<int> SubscribersAsync(CancellationToken cancellationToken) => (int)await MetricAsync("rawsse_subscribers", cancellationToken);

    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            _process.WaitForExit();
        }
    }

    public void Dispose()
    {
        Kill();
        _process.Dispose();
        lock (_output)
        {
            if (_output.Count > 0)
            {
                // Warnings and errors only (the nodes run at --log-level Warning): what a failed test needs to see.
                TestContext.Out.WriteLine($"node on {Port}, its last lines:\n  " + string.Join("\n  ", _output));
            }
        }
    }
}
