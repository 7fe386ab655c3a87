using System.Text;
using Microsoft.Extensions.Logging;

namespace RawSse.Tests;

/// <summary>
/// What an idle stream keeps alive. Once its head is sent, a connection drops its pipes, its parsed request and its
/// async call chain; a regression that keeps any of them shows up here as kilobytes per stream. The memory cost is
/// measured properly (RSS, against the peers) by the benchmark; this is the guard against going back.
/// </summary>
[TestFixture]
public sealed class FootprintTests
{
    private const int Streams = 1000;

    // Managed heap per stream, both ends counted: the clients live in this process too (about 1.5 KB each). Measured
    // here: 5.7 KB a stream while a stream kept its request state, 3.0 KB since it drops it.
    private const int MaxBytesPerStream = 4000;

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Test]
    public async Task IdleStreams_AThousandOpen_ManagedHeapPerStreamStaysSmall()
    {
        // Arrange: logging at Warning, so no per-stream log line is kept in memory; one stream first warms up the paths.
        await using var server = TestServer.Start(o => o.HeartbeatInterval = TimeSpan.Zero, LogLevel.Warning);
        var request = Encoding.ASCII.GetBytes("GET /sse?topic=idle HTTP/1.1\r\nHost: test\r\n\r\n");
        var clients = new List<System.Net.Sockets.Socket>();
        try
        {
            clients.Add(await OpenLeanStreamAsync(server, request));
            await server.WaitForSubscribersAsync(1, Timeout);
            long before = Heap.SettledBytes();

            // Act
            for (int i = 0; i < Streams; i++)
            {
                clients.Add(await OpenLeanStreamAsync(server, request));
            }

            await server.WaitForSubscribersAsync(Streams + 1, Timeout);
            long after = Heap.SettledBytes();

            // Assert
            long perStream = (after - before) / Streams;
            TestContext.Out.WriteLine($"managed heap per idle stream, both ends: {perStream:N0} bytes");
            Assert.That(perStream, Is.LessThan(MaxBytesPerStream),
                $"managed heap grew by {after - before:N0} bytes for {Streams} idle streams (server and client ends)");
            Assert.That(server.Hub.SubscriberCount, Is.EqualTo(Streams + 1), "every stream is still subscribed");
        }
        finally
        {
            foreach (var client in clients)
            {
                client.Dispose();
            }
        }
    }

    // Reads the stream's head into one shared small buffer: a socket keeps a reference to the last buffer it read
    // into, and a buffer per client would be counted as the server's memory.
    private static readonly byte[] s_receiveBuffer = new byte[512];

    private static async Task ReadHeadAsync(System.Net.Sockets.Socket socket)
    {
        using var deadline = new CancellationTokenSource(Timeout);
        var head = new StringBuilder();
        while (!head.ToString().EndsWith("retry: 2000\n\n", StringComparison.Ordinal))
        {
            int n = await socket.ReceiveAsync(s_receiveBuffer, System.Net.Sockets.SocketFlags.None, deadline.Token);
            Assert.That(n, Is.GreaterThan(0), $"the stream closed before its head was complete; arrived: {Describe.Escape(head.ToString())}");
            head.Append(Encoding.ASCII.GetString(s_receiveBuffer, 0, n));
        }
    }

    // A bare socket, not a RawClient: the heap measured here holds the client ends too, and a RawClient's buffers
    // (the socket keeps the last one it read into) would count as kilobytes per stream.
    private static async Task<System.Net.Sockets.Socket> OpenLeanStreamAsync(TestServer server, byte[] request)
    {
        var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp) { NoDelay = true };
        try
        {
            using var deadline = new CancellationTokenSource(Timeout);
            await socket.ConnectAsync(server.EndPoint, deadline.Token);
            for (int sent = 0; sent < request.Length;)
            {
                sent += await socket.SendAsync(request.AsMemory(sent), System.Net.Sockets.SocketFlags.None, deadline.Token);
            }

            await ReadHeadAsync(socket);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
