using System.Net;
using System.Net.Sockets;
using System.Text;

namespace RawSse.Tests;

/// <summary>A raw TCP client for socket-level tests: sends exact bytes, reads with deadlines, parses responses by hand.</summary>
internal sealed class RawClient : IDisposable
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    private readonly TcpClient _client;
    private readonly NetworkStream _stream;
    private readonly MemoryStream _pending = new(); // bytes received but not yet consumed by a Read* call

    private RawClient(TcpClient client)
    {
        _client = client;
        _stream = client.GetStream();
    }

    public Socket Socket => _client.Client;

    public static async Task<RawClient> ConnectAsync(IPEndPoint endPoint)
    {
        var client = new TcpClient(AddressFamily.InterNetwork) { NoDelay = true };
        await client.ConnectAsync(endPoint).WaitAsync(DefaultTimeout);
        return new RawClient(client);
    }

    public Task SendAsync(string text) => SendAsync(Encoding.UTF8.GetBytes(text));

    public async Task SendAsync(byte[] bytes) => await _stream.WriteAsync(bytes).AsTask().WaitAsync(DefaultTimeout);

    /// <summary>Sends one byte per write, to exercise a parser's handling of split input.</summary>
    public async Task SendByteByByteAsync(string text)
    {
        foreach (byte b in Encoding.UTF8.GetBytes(text))
        {
            await _stream.WriteAsync(new[] { b }).AsTask().WaitAsync(DefaultTimeout);
            await _stream.FlushAsync();
        }
    }

    /// <summary>Reads one HTTP response. The body is read by Content-Length, or not at all for HEAD/304/streams (<paramref name="expectBody"/> false).</summary>
    public async Task<HttpResponse> ReadResponseAsync(bool expectBody = true, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        var head = await ReadUntilAsync("\r\n\r\n"u8.ToArray(), cts.Token);
        var response = HttpResponse.ParseHead(Encoding.Latin1.GetString(head));
        if (expectBody && response.Headers.TryGetValue("content-length", out var length))
        {
            response.Body = await ReadExactlyAsync(int.Parse(length, System.Globalization.CultureInfo.InvariantCulture), cts.Token);
        }

        return response;
    }

    /// <summary>Reads until <paramref name="text"/> has arrived, and returns everything up to and including it.</summary>
    public async Task<string> ReadUntilAsync(string text, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        try
        {
            return Encoding.UTF8.GetString(await ReadUntilAsync(Encoding.UTF8.GetBytes(text), cts.Token));
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"'{Describe.Escape(text)}' did not arrive; received so far: '{Describe.Escape(Encoding.UTF8.GetString(_pending.ToArray()))}'");
        }
    }

    /// <summary>Reads until the server closes; returns what arrived. Throws on timeout.</summary>
    public async Task<byte[]> ReadToEndAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        var buffer = new byte[8192];
        try
        {
            while (true)
            {
                int n = await _stream.ReadAsync(buffer, cts.Token);
                if (n == 0)
                {
                    break;
                }

                _pending.Write(buffer, 0, n);
            }
        }
        catch (IOException)
        {
            // A reset also ends the stream.
        }

        var all = _pending.ToArray();
        _pending.SetLength(0);
        return all;
    }

    /// <summary>True when the server closed the connection (EOF or reset) within the timeout, after any pending bytes.</summary>
    public async Task<bool> WaitForCloseAsync(TimeSpan? timeout = null)
    {
        try
        {
            await ReadToEndAsync(timeout);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private async Task<byte[]> ReadUntilAsync(byte[] marker, CancellationToken cancellationToken)
    {
        var buffer = new byte[8192];
        while (true)
        {
            var data = _pending.GetBuffer().AsSpan(0, (int)_pending.Length);
            int index = data.IndexOf(marker);
            if (index >= 0)
            {
                int end = index + marker.Length;
                var result = data[..end].ToArray();
                var rest = data[end..].ToArray();
                _pending.SetLength(0);
                _pending.Write(rest);
                return result;
            }

            int n = await _stream.ReadAsync(buffer, cancellationToken);
            if (n == 0)
            {
                throw new EndOfStreamException($"connection closed before '{Describe.Escape(Encoding.UTF8.GetString(marker))}'; received: '{Describe.Escape(Encoding.UTF8.GetString(_pending.ToArray()))}'");
            }

            _pending.Write(buffer, 0, n);
        }
    }

    private async Task<byte[]> ReadExactlyAsync(int count, CancellationToken cancellationToken)
    {
        var buffer = new byte[8192];
        while (_pending.Length < count)
        {
            int n = await _stream.ReadAsync(buffer, cancellationToken);
            if (n == 0)
            {
                throw new EndOfStreamException($"connection closed after {_pending.Length} of {count} body bytes");
            }

            _pending.Write(buffer, 0, n);
        }

        var all = _pending.ToArray();
        _pending.SetLength(0);
        _pending.Write(all, count, all.Length - count);
        return all[..count];
    }

    /// <summary>Closes with an RST instead of a FIN.</summary>
    public void Reset()
    {
        _client.Client.LingerState = new LingerOption(true, 0);
        _client.Close();
    }

    public void Dispose() => _client.Dispose();
}
