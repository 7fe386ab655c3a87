using System.Net;
using System.Net.Sockets;
using System.Text;

namespace RawSse.Tests;

/// <summary>
/// Helpers for sockets that <see cref="RawClient"/> does not own: creating them (bound to a source address, with a small
/// receive window), writing all of a buffer, reading to a marker or to the end with a deadline, and closing with an RST.
/// </summary>
internal static class RawSocket
{
    private const int TailChars = 500;

    /// <summary>A TCP socket with Nagle off, optionally bound to <paramref name="source"/> and with a small receive buffer.</summary>
    public static Socket Create(IPAddress? source = null, int receiveBufferSize = 0)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            if (receiveBufferSize > 0)
            {
                socket.ReceiveBufferSize = receiveBufferSize; // before connecting, so the advertised window is small from the start
            }

            if (source is not null)
            {
                socket.Bind(new IPEndPoint(source, 0));
            }

            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A stream client that never reads: a small receive buffer, set before connecting so the window it advertises
    /// stays small, and <c>GET target</c> sent. The response and every event pile up in kernel buffers.
    /// </summary>
    public static async Task<TcpClient> ConnectStalledAsync(IPEndPoint endPoint, string target, int receiveBufferSize, TimeSpan timeout)
    {
        var client = new TcpClient(AddressFamily.InterNetwork) { ReceiveBufferSize = receiveBufferSize, NoDelay = true };
        try
        {
            await client.ConnectAsync(endPoint).WaitAsync(timeout);
            await client.GetStream().WriteAsync(Encoding.ASCII.GetBytes($"GET {target} HTTP/1.1\r\nHost: test\r\n\r\n")).AsTask().WaitAsync(timeout);
            return client;
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    public static async Task SendAllAsync(Socket socket, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        while (!data.IsEmpty)
        {
            int sent = await socket.SendAsync(data, SocketFlags.None, cancellationToken);
            data = data[sent..];
        }
    }

    /// <summary>Half-closes (sends a FIN); a socket the server has already reset is left for the next read to report.</summary>
    public static void TryShutdownSend(Socket socket)
    {
        try
        {
            socket.Shutdown(SocketShutdown.Send);
        }
        catch (SocketException)
        {
            // Already reset by the server: the read will say so.
        }
    }

    /// <summary>Closes with an RST (linger 0), which also leaves no TIME_WAIT behind. Throws if the socket cannot take the option.</summary>
    public static void Reset(Socket socket)
    {
        socket.LingerState = new LingerOption(true, 0);
        socket.Dispose();
    }

    /// <summary>
    /// As <see cref="Reset"/>, for a socket that may already be reset or disposed (a fuzzed connection): failing to
    /// set linger 0 is ignored, and the socket is disposed regardless.
    /// </summary>
    public static void ResetQuietly(Socket socket)
    {
        try
        {
            socket.LingerState = new LingerOption(true, 0);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }

        socket.Dispose();
    }

    /// <summary>
    /// Reads until <paramref name="marker"/> has arrived and returns everything read (UTF-8), the marker and whatever
    /// came with it included. Throws <see cref="TimeoutException"/> or <see cref="EndOfStreamException"/> showing what did arrive.
    /// </summary>
    public static async Task<string> ReadUntilAsync(Socket socket, string marker, TimeSpan timeout)
    {
        byte[] wanted = Encoding.UTF8.GetBytes(marker);
        using var cts = new CancellationTokenSource(timeout);
        var received = new MemoryStream();
        var buffer = new byte[64 * 1024];
        int searchFrom = 0;
        while (received.GetBuffer().AsSpan(searchFrom, (int)received.Length - searchFrom).IndexOf(wanted) < 0)
        {
            // Only the new bytes, and the marker's length before them, can newly hold the marker.
            searchFrom = (int)Math.Max(0, received.Length - wanted.Length + 1);
            int n;
            try
            {
                n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"'{Describe.Escape(marker)}' did not arrive within {timeout.TotalSeconds} s; {Arrived(received)}");
            }

            if (n == 0)
            {
                throw new EndOfStreamException($"closed before '{Describe.Escape(marker)}'; {Arrived(received)}");
            }

            received.Write(buffer, 0, n);
        }

        return Encoding.UTF8.GetString(received.GetBuffer(), 0, (int)received.Length);
    }

    /// <summary>
    /// Reads until the peer closes and returns how (<see cref="ReadEnd"/>) with what arrived: a reset counts as an
    /// ending here, not as a failure; the deadline gives <see cref="ReadEnd.Timeout"/>. Other socket errors throw.
    /// </summary>
    public static async Task<(ReadEnd End, byte[] Bytes)> ReadToEndAsync(Socket socket, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        var received = new MemoryStream();
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                int n = await socket.ReceiveAsync(buffer, SocketFlags.None, deadline.Token);
                if (n == 0)
                {
                    return (ReadEnd.Eof, received.ToArray());
                }

                received.Write(buffer, 0, n);
            }
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionReset)
        {
            return (ReadEnd.Reset, received.ToArray());
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            return (ReadEnd.Timeout, received.ToArray());
        }
    }

    /// <summary>
    /// Reads until the peer's FIN and returns what arrived before it. Unlike <see cref="ReadToEndAsync"/>, a reset (any
    /// failed read) or the deadline fails the test, showing what arrived: for a graceful stop, which must end cleanly.
    /// </summary>
    public static async Task<byte[]> ReadToCleanEndAsync(Socket socket, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var received = new MemoryStream();
        var buffer = new byte[8192];
        while (true)
        {
            int n;
            try
            {
                n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
            }
            catch (SocketException ex)
            {
                Assert.Fail($"expected a clean end of stream (read returning 0), but the read failed with {ex.SocketErrorCode}; received before: '{Describe.Escape(Encoding.UTF8.GetString(received.ToArray()))}'");
                throw;
            }
            catch (OperationCanceledException)
            {
                Assert.Fail($"no end of stream within {timeout.TotalSeconds} s; received: '{Describe.Escape(Encoding.UTF8.GetString(received.ToArray()))}'");
                throw;
            }

            if (n == 0)
            {
                return received.ToArray();
            }

            received.Write(buffer, 0, n);
        }
    }

    private static string Arrived(MemoryStream received)
    {
        string text = Encoding.UTF8.GetString(received.GetBuffer(), 0, (int)received.Length);
        return text.Length <= TailChars
            ? $"received: '{Describe.Escape(text)}'"
            : $"received {received.Length:N0} bytes, ending: '…{Describe.Escape(text[^TailChars..])}'";
    }
}
