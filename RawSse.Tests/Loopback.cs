using System.Net;
using System.Net.Sockets;

namespace RawSse.Tests;

/// <summary>The loopback network the tests run on: extra source addresses, a free port, an HttpClient to a port.</summary>
internal static class Loopback
{
    /// <summary>127.0.0.2 … 127.0.0.50: client sockets bound across these spread their ephemeral ports (~49 × 28k available).</summary>
    public static readonly IPAddress[] Sources =
        [.. Enumerable.Range(2, 49).Select(i => new IPAddress(new byte[] { 127, 0, 0, (byte)i }))];

    /// <summary>A port that was free a moment ago (the listener that found it is stopped again).</summary>
    public static int FreeTcpPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    /// <summary>An HttpClient for http://127.0.0.1:<paramref name="port"/>/, never through a proxy.</summary>
    public static HttpClient NewHttpClient(int port, TimeSpan timeout) =>
        new(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = timeout };
}
