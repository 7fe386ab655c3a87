using System.Net;
using System.Text;

namespace LoadGen;

/// <summary>How subscribers connect: the target, the request they send, and how they spread over source addresses.</summary>
internal sealed class GroupOptions
{
    public required Uri Url { get; init; }
    public int BufferBytes { get; init; } = 8192;
    public int PerAddress { get; init; } = 2000;
    public int ConnectConcurrency { get; init; } = 200;
    public int ConnectTimeoutMs { get; init; } = 30_000;
    public int TickPeriodMs { get; init; } = 500;

    /// <summary>The server ports subscribers spread over, round-robin by index (several nodes of a cluster); just the url's port by default.</summary>
    public IReadOnlyList<int> Ports { get; init; } = [];

    public int Targets => Math.Max(1, Ports.Count);

    /// <summary>Which of <see cref="Ports"/> subscriber <paramref name="index"/> (over every shard) connects to.</summary>
    public int TargetOf(int index) => index % Targets;

    public IPEndPoint ServerFor(int target) => new(IPAddress.Parse(Url.Host), Ports.Count == 0 ? Url.Port : Ports[target]);

    public byte[] Request() => Encoding.ASCII.GetBytes(
        $"GET {Url.PathAndQuery} HTTP/1.1\r\nHost: {Url.Authority}\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n");

    /// <summary>Subscriber <paramref name="index"/> (over every shard) connects from 127.0.0.(2 + index / PerAddress).</summary>
    public IPAddress SourceFor(int index)
    {
        int host = 2 + index / PerAddress;
        if (host > 254)
        {
            throw new ArgumentOutOfRangeException(nameof(index), $"more than {253 * PerAddress} subscribers need more source addresses");
        }

        return new IPAddress(new byte[] { 127, 0, 0, (byte)host });
    }

    public IEnumerable<string> ToArgs() =>
    [
        "--url", Url.ToString(), "--buffer", BufferBytes.ToString(), "--per-address", PerAddress.ToString(),
        "--connect-concurrency", ConnectConcurrency.ToString(), "--connect-timeout-ms", ConnectTimeoutMs.ToString(),
        "--tick-period-ms", TickPeriodMs.ToString(), .. (Ports.Count == 0 ? Array.Empty<string>() : ["--ports", string.Join(',', Ports)]),
    ];

    public static GroupOptions From(Args args) => new()
    {
        Url = new Uri(args.Get("--url", "http://127.0.0.1:8080/sse")),
        BufferBytes = args.GetInt("--buffer", 8192),
        PerAddress = args.GetInt("--per-address", 2000),
        ConnectConcurrency = args.GetInt("--connect-concurrency", 200),
        ConnectTimeoutMs = args.GetInt("--connect-timeout-ms", 30_000),
        TickPeriodMs = args.GetInt("--tick-period-ms", 500),
        Ports = [.. args.GetList("--ports", "").Select(p => (int)p)],
    };
}
