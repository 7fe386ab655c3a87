using System.Buffers.Text;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace LoadGen;

/// <summary>
/// One keep-alive connection the <see cref="Publisher"/> sends on: it owns the socket, remembers when each
/// request left, and a reader thread matches the responses to the requests in order and reports each one
/// (status and round trip in microseconds) to <c>onResponse</c>.
/// </summary>
internal sealed class PublishConnection : IDisposable
{
    private const int RingSize = 1 << 14;

    private readonly Socket _socket;
    private readonly long[] _sentAt = new long[RingSize];
    private readonly Action<int, long> _onResponse;
    private readonly Thread _reader;
    private long _requests;
    private long _responses;
    private volatile bool _closing;

    public PublishConnection(IPEndPoint server, Action<int, long> onResponse)
    {
        _onResponse = onResponse;
        _socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        _socket.Connect(server);
        _reader = new Thread(ReadResponses) { IsBackground = true, Name = $"publish-responses-{server.Port}" };
        _reader.Start();
    }

    /// <summary>The most requests that may be outstanding on one connection (its ring of send times).</summary>
    public static int MaxWindow => RingSize / 2;

    public long Requests => Interlocked.Read(ref _requests);
    public long Responses => Interlocked.Read(ref _responses);
    public bool Alive => _reader.IsAlive;

    /// <summary>Sends the requests written into <paramref name="requests"/>, one per send time in <paramref name="sentAt"/>.</summary>
    public void Send(ReadOnlySpan<byte> requests, ReadOnlySpan<long> sentAt)
    {
        Debug.Assert(sentAt.Length > 0);
        long first = Interlocked.Read(ref _requests);
        for (int i = 0; i < sentAt.Length; i++)
        {
            _sentAt[(first + i) & (RingSize - 1)] = sentAt[i];
        }

        Interlocked.Add(ref _requests, sentAt.Length);
        _socket.Send(requests);
    }

    private void ReadResponses()
    {
        var buffer = new byte[64 * 1024];
        int held = 0;
        try
        {
            while (!_closing)
            {
                if (held == buffer.Length)
                {
                    throw new InvalidDataException("publish response larger than 64 KiB");
                }

                int n = _socket.Receive(buffer, held, buffer.Length - held, SocketFlags.None);
                if (n == 0)
                {
                    break;
                }

                long now = Stopwatch.GetTimestamp();
                held += n;
                int offset = 0;
                while (TryReadResponse(buffer.AsSpan(offset, held - offset), out int consumed, out int status))
                {
                    offset += consumed;
                    long index = _responses;
                    _onResponse(status, StepStats.ToMicros(now - _sentAt[index & (RingSize - 1)]));
                    Interlocked.Increment(ref _responses);
                }

                buffer.AsSpan(offset, held - offset).CopyTo(buffer);
                held -= offset;
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or InvalidDataException)
        {
            if (!_closing)
            {
                Console.Error.WriteLine($"loadgen: publish connection failed: {ex.Message}");
            }
        }
    }

    /// <summary>One complete response (head and body, Content-Length or chunked) at the start of <paramref name="input"/>.</summary>
    private static bool TryReadResponse(ReadOnlySpan<byte> input, out int consumed, out int status)
    {
        consumed = 0;
        status = 0;
        if (!ResponseHead.TryParse(input, out var head))
        {
            return false;
        }

        status = head.Status;
        var body = input[head.Length..];
        if (head.Chunked)
        {
            int at = 0;
            while (true)
            {
                int eol = body[at..].IndexOf("\r\n"u8);
                if (eol < 0)
                {
                    return false;
                }

                var sizeText = body.Slice(at, eol);
                int semicolon = sizeText.IndexOf((byte)';');
                if (semicolon >= 0)
                {
                    sizeText = sizeText[..semicolon];
                }

                if (!Utf8Parser.TryParse(sizeText, out long size, out _, 'x'))
                {
                    throw new InvalidDataException("bad chunk size in a publish response");
                }

                at += eol + 2;
                if (size == 0)
                {
                    // No trailers expected: the last chunk ends with one more CRLF.
                    if (body.Length < at + 2)
                    {
                        return false;
                    }

                    consumed = head.Length + at + 2;
                    return true;
                }

                if (body.Length < at + size + 2)
                {
                    return false;
                }

                at += (int)size + 2;
            }
        }

        long length = Math.Max(0, head.ContentLength);
        if (body.Length < length)
        {
            return false;
        }

        consumed = head.Length + (int)length;
        return true;
    }

    public void Dispose()
    {
        _closing = true;
        _socket.Dispose();
        _reader.Join(TimeSpan.FromSeconds(5));
    }
}
