using System.Net;
using System.Net.Sockets;
using System.Text;

namespace RawSse.Tests;

/// <summary>
/// The tests' one raw TCP client. It owns its socket: it connects (optionally from a given source address and with a
/// small receive window), sends exact bytes (whole, or one byte per write), reads with a deadline (to a marker, one
/// response, or to the end of the connection), half-closes, and closes with an RST. A read that does not get what it
/// waits for fails with what it expected and what arrived. It reads only when asked, so a client that never calls a
/// read is a client that never reads (the server's writes pile up in the kernel buffers).
/// </summary>
internal sealed class RawClient : IDisposable
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    private readonly Socket _socket;
    private readonly MemoryStream _pending = new(); // bytes received but not yet consumed by a Read* call

    private RawClient(Socket socket)
    {
        _socket = socket;
    }

    /// <summary>The socket, for a test that inspects it (<see cref="Socket.Connected"/>); every read and write goes through this client.</summary>
    public Socket Socket => _socket;

    public IPAddress LocalAddress => ((IPEndPoint)_socket.LocalEndPoint!).Address;

    /// <summary>
    /// Connects to <paramref name="endPoint"/> with Nagle off, from <paramref name="source"/> when given (one of
    /// <see cref="Loopback.Sources"/>, to spread ephemeral ports), and with a <paramref name="receiveBufferSize"/> set
    /// before connecting when given, so the window it advertises is small from the start.
    /// </summary>
    public static async Task<RawClient> ConnectAsync(
        IPEndPoint endPoint, IPAddress? source = null, int receiveBufferSize = 0, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            if (receiveBufferSize > 0)
            {
                socket.ReceiveBufferSize = receiveBufferSize;
            }

            if (source is not null)
            {
                socket.Bind(new IPEndPoint(source, 0));
            }

            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(timeout ?? DefaultTimeout);
            await socket.ConnectAsync(endPoint, deadline.Token);
            return new RawClient(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>A stream client that never reads: a small receive window, <c>GET target</c> sent, and nothing read after.</summary>
    public static async Task<RawClient> ConnectStalledAsync(IPEndPoint endPoint, string target, int receiveBufferSize, TimeSpan timeout)
    {
        var client = await ConnectAsync(endPoint, receiveBufferSize: receiveBufferSize, timeout: timeout);
        try
        {
            await client.SendAsync(Encoding.ASCII.GetBytes($"GET {target} HTTP/1.1\r\nHost: test\r\n\r\n"));
            return client;
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    // ---- sending ---------------------------------------------------------------------------------------

    /// <summary>Sends <paramref name="text"/> as UTF-8.</summary>
    public Task SendAsync(string text) => SendAsync(Encoding.UTF8.GetBytes(text));

    /// <summary>Sends all of <paramref name="bytes"/>; throws <see cref="TimeoutException"/> when that takes longer than <see cref="DefaultTimeout"/>.</summary>
    public async Task SendAsync(ReadOnlyMemory<byte> bytes)
    {
        using var deadline = new CancellationTokenSource(DefaultTimeout);
        try
        {
            await SendAsync(bytes, deadline.Token);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            throw new TimeoutException($"sending {bytes.Length:N0} bytes did not complete within {DefaultTimeout.TotalSeconds} s");
        }
    }

    public Task SendAsync(byte[] bytes) => SendAsync(bytes.AsMemory());

    /// <summary>Sends all of <paramref name="bytes"/>, for as long as <paramref name="cancellationToken"/> allows (a caller with its own deadline).</summary>
    public async Task SendAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        while (!bytes.IsEmpty)
        {
            int sent = await _socket.SendAsync(bytes, SocketFlags.None, cancellationToken);
            bytes = bytes[sent..];
        }
    }

    /// <summary>Sends one byte per write, to exercise a parser's handling of split input.</summary>
    public Task SendByteByByteAsync(string text) => SendByteByByteAsync(Encoding.UTF8.GetBytes(text));

    public async Task SendByteByByteAsync(byte[] bytes)
    {
        for (int i = 0; i < bytes.Length; i++)
        {
            await SendAsync(bytes.AsMemory(i, 1));
        }
    }

    /// <summary>Half-closes (sends a FIN); a socket the server has already reset is left for the next read to report.</summary>
    public void ShutdownSend()
    {
        try
        {
            _socket.Shutdown(SocketShutdown.Send);
        }
        catch (SocketException)
        {
            // Already reset by the server: the read will say so.
        }
    }

    /// <summary>
    /// Closes with an RST (linger 0), which also leaves no TIME_WAIT behind. A socket already reset or closed (a
    /// fuzzed connection) is disposed all the same.
    /// </summary>
    public void Reset()
    {
        try
        {
            _socket.LingerState = new LingerOption(true, 0);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
        }

        _socket.Dispose();
    }

    // ---- reading ---------------------------------------------------------------------------------------

    /// <summary>Reads one HTTP response. The body is read by Content-Length, or not at all for HEAD/304/streams (<paramref name="expectBody"/> false).</summary>
    public async Task<HttpResponse> ReadResponseAsync(bool expectBody = true, TimeSpan? timeout = null)
    {
        var limit = timeout ?? DefaultTimeout;
        using var deadline = new CancellationTokenSource(limit);
        byte[] head = await ReadUntilAsync("\r\n\r\n"u8.ToArray(), limit, deadline.Token);
        var response = HttpResponse.Parse(head);
        if (expectBody && response.ContentLength is long length)
        {
            response.Body = await ReadExactlyAsync(checked((int)length), limit, response, deadline.Token);
        }

        return response;
    }

    /// <summary>Reads until <paramref name="marker"/> has arrived, and returns everything up to and including it (UTF-8).</summary>
    public async Task<string> ReadUntilAsync(string marker, TimeSpan? timeout = null)
    {
        var limit = timeout ?? DefaultTimeout;
        using var deadline = new CancellationTokenSource(limit);
        return Encoding.UTF8.GetString(await ReadUntilAsync(Encoding.UTF8.GetBytes(marker), limit, deadline.Token));
    }

    /// <summary>
    /// Reads until the peer closes and returns how (<see cref="ReadEnd"/>) with what arrived that no read had taken: a
    /// reset counts as an ending here, not as a failure, and the deadline gives <see cref="ReadEnd.Timeout"/>.
    /// </summary>
    public async Task<ConnectionEnd> ReadEndAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        var buffer = new byte[16 * 1024];
        try
        {
            while (await _socket.ReceiveAsync(buffer, SocketFlags.None, deadline.Token) is int n and > 0)
            {
                _pending.Write(buffer, 0, n);
            }

            return new ConnectionEnd(ReadEnd.Eof, TakeAll());
        }
        catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionReset or SocketError.ConnectionAborted)
        {
            return new ConnectionEnd(ReadEnd.Reset, TakeAll());
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            return new ConnectionEnd(ReadEnd.Timeout, TakeAll());
        }
    }

    /// <summary>Reads until the server closes (FIN or reset); returns what arrived. Throws <see cref="TimeoutException"/>, showing what arrived, when it does not close in time.</summary>
    public async Task<byte[]> ReadToEndAsync(TimeSpan? timeout = null)
    {
        var limit = timeout ?? DefaultTimeout;
        var end = await ReadEndAsync(limit);
        if (end.End == ReadEnd.Timeout)
        {
            throw new TimeoutException($"expected the server to close within {limit.TotalSeconds} s; it did not; {Describe.Arrived(end.Bytes)}");
        }

        return end.Bytes;
    }

    /// <summary>True when the server closed the connection (FIN or reset) within the timeout, after any pending bytes.</summary>
    public async Task<bool> WaitForCloseAsync(TimeSpan? timeout = null) => (await ReadEndAsync(timeout ?? DefaultTimeout)).End != ReadEnd.Timeout;

    /// <summary>
    /// Reads until the peer's FIN and returns what arrived before it. Unlike <see cref="ReadEndAsync"/>, a reset or
    /// the deadline fails the test, showing what arrived: for a graceful stop, which must end cleanly.
    /// </summary>
    public async Task<byte[]> ReadToCleanEndAsync(TimeSpan timeout)
    {
        var end = await ReadEndAsync(timeout);
        Assert.That(end.End, Is.EqualTo(ReadEnd.Eof),
            $"expected a clean end of stream (a read returning 0) within {timeout.TotalSeconds} s; got {end.End}; {Describe.Arrived(end.Bytes)}");
        return end.Bytes;
    }

    /// <summary>
    /// The next bytes: what an earlier read left over, else one receive from the socket; 0 at the end of the stream.
    /// For a reader that does its own framing (the fuzzer's oracle, a de-chunker); throws as the socket does.
    /// </summary>
    public async ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        if (_pending.Length > 0)
        {
            int count = (int)Math.Min(buffer.Length, _pending.Length);
            _pending.GetBuffer().AsMemory(0, count).CopyTo(buffer);
            Consume(count);
            return count;
        }

        return await _socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
    }

    /// <summary>What earlier reads received beyond what they returned (bytes that came with a head), taken now.</summary>
    public byte[] TakeBuffered() => TakeAll();

    private async Task<byte[]> ReadUntilAsync(byte[] marker, TimeSpan limit, CancellationToken cancellationToken)
    {
        var buffer = new byte[16 * 1024];
        int searchFrom = 0;
        while (true)
        {
            var data = _pending.GetBuffer().AsSpan(0, (int)_pending.Length);
            int index = data[searchFrom..].IndexOf(marker);
            if (index >= 0)
            {
                int end = searchFrom + index + marker.Length;
                var result = data[..end].ToArray();
                Consume(end);
                return result;
            }

            // Only the new bytes, and the marker's length before them, can newly hold the marker.
            searchFrom = Math.Max(0, data.Length - marker.Length + 1);
            int n;
            try
            {
                n = await _socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"expected '{Describe.Escape(Encoding.UTF8.GetString(marker))}' within {limit.TotalSeconds} s; {Describe.Arrived(Pending())}");
            }

            if (n == 0)
            {
                throw new EndOfStreamException($"expected '{Describe.Escape(Encoding.UTF8.GetString(marker))}', but the connection closed first; {Describe.Arrived(Pending())}");
            }

            _pending.Write(buffer, 0, n);
        }
    }

    private async Task<byte[]> ReadExactlyAsync(int count, TimeSpan limit, HttpResponse response, CancellationToken cancellationToken)
    {
        var buffer = new byte[16 * 1024];
        while (_pending.Length < count)
        {
            int n;
            try
            {
                n = await _socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException(
                    $"expected a {count}-byte body within {limit.TotalSeconds} s after '{Describe.Escape(response.RawHead)}'; {_pending.Length} bytes arrived: {Describe.Arrived(Pending())}");
            }

            if (n == 0)
            {
                throw new EndOfStreamException(
                    $"expected a {count}-byte body after '{Describe.Escape(response.RawHead)}', but the connection closed after {_pending.Length}: {Describe.Arrived(Pending())}");
            }

            _pending.Write(buffer, 0, n);
        }

        var body = _pending.GetBuffer().AsSpan(0, count).ToArray();
        Consume(count);
        return body;
    }

    private ReadOnlySpan<byte> Pending() => _pending.GetBuffer().AsSpan(0, (int)_pending.Length);

    private void Consume(int count)
    {
        var rest = Pending()[count..].ToArray();
        _pending.SetLength(0);
        _pending.Write(rest);
    }

    private byte[] TakeAll()
    {
        var all = _pending.ToArray();
        _pending.SetLength(0);
        return all;
    }

    public void Dispose() => _socket.Dispose();
}
