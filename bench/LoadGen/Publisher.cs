using System.Buffers.Text;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace LoadGen;

/// <summary>
/// Publishes bench events through <c>POST /publish</c> on one keep-alive connection, pipelined up to a
/// window, so the server handles them in order. Each event's data is <c>SEQ.SENTAT.padding</c>, SENTAT being
/// the <c>Stopwatch</c> timestamp (CLOCK_MONOTONIC, comparable across processes) taken just before the send.
/// A sender thread keeps the schedule; a reader thread matches responses to requests in order.
/// </summary>
internal sealed class Publisher : IDisposable
{
    private const int RingSize = 1 << 14;

    private readonly Socket _socket;
    private readonly byte[] _head;
    private readonly byte[] _bodyStart;
    private readonly int _payloadBytes;
    private readonly long[] _sentAt = new long[RingSize];
    private readonly Thread _reader;
    private SemaphoreSlim _window = new(1);
    private PublishResult _current = new();
    private long _requests;
    private long _responses;
    private volatile bool _closing;

    /// <param name="authorization">An <c>Authorization</c> value sent with every publish (a bearer JWT), or null.</param>
    /// <param name="extraFields">Form fields sent before <c>data</c> in every publish (<c>private=on</c>), or empty.</param>
    public Publisher(Uri publishUrl, string topic, int payloadBytes, string? authorization = null, string extraFields = "")
    {
        _payloadBytes = payloadBytes;
        string auth = authorization is null ? "" : $"Authorization: {authorization}\r\n";
        _head = Encoding.ASCII.GetBytes(
            $"POST {publishUrl.PathAndQuery} HTTP/1.1\r\nHost: {publishUrl.Authority}\r\n{auth}Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ");
        string extra = extraFields.Length == 0 ? "" : extraFields + "&";
        _bodyStart = Encoding.ASCII.GetBytes($"topic={Uri.EscapeDataString(topic)}&{extra}data=");
        _socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        _socket.Connect(new IPEndPoint(IPAddress.Parse(publishUrl.Host), publishUrl.Port));
        _reader = new Thread(ReadResponses) { IsBackground = true, Name = "publish-responses" };
        _reader.Start();
    }

    /// <summary>Publishes at <paramref name="rate"/> events/s for <paramref name="seconds"/>, then waits (bounded) for every answer.</summary>
    public PublishResult Run(double rate, double seconds, long firstSequence, int window)
    {
        var result = new PublishResult { FirstSequence = firstSequence };
        Volatile.Write(ref _current, result);
        _window = new SemaphoreSlim(Math.Min(window, RingSize / 2));
        long total = Math.Max(1, (long)Math.Round(rate * seconds));
        long baseRequest = Interlocked.Read(ref _requests);
        var buffer = new byte[64 * (_head.Length + _bodyStart.Length + _payloadBytes + 64)];
        long start = Stopwatch.GetTimestamp();
        long sent = 0;
        while (sent < total)
        {
            long now = Stopwatch.GetTimestamp();
            long due = start + (long)(sent * Stopwatch.Frequency / rate);
            if (now < due)
            {
                // No spinning: the publisher shares its core with the subscribers. Each event is stamped
                // when it is actually sent, so the ~1 ms granularity shifts the schedule, not the measurement.
                Thread.Sleep(1);
                continue;
            }

            // Everything due now leaves in one write (at most 64 requests).
            int length = 0, batch = 0;
            while (sent < total && batch < 64 && start + (long)(sent * Stopwatch.Frequency / rate) <= now)
            {
                if (!_window.Wait(batch == 0 ? 10_000 : 0))
                {
                    if (batch == 0)
                    {
                        result.Stalled = true;
                        total = sent;
                    }

                    break;
                }

                now = Stopwatch.GetTimestamp();
                _sentAt[(baseRequest + sent) & (RingSize - 1)] = now;
                length += WriteRequest(buffer.AsSpan(length), firstSequence + sent, now);
                sent++;
                batch++;
            }

            if (length > 0)
            {
                Interlocked.Add(ref _requests, batch);
                _socket.Send(buffer.AsSpan(0, length));
            }
        }

        result.Sent = sent;
        result.Seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        var deadline = Stopwatch.GetTimestamp() + 30 * Stopwatch.Frequency;
        while (Interlocked.Read(ref _responses) < baseRequest + sent && Stopwatch.GetTimestamp() < deadline && _reader.IsAlive)
        {
            Thread.Sleep(1);
        }

        lock (result)
        {
            result.Failed += baseRequest + sent - Interlocked.Read(ref _responses);
        }

        return result;
    }

    private int WriteRequest(Span<byte> span, long sequence, long sentAt)
    {
        // data = SEQ.SENTAT. then 'x' up to the payload size
        Span<byte> prefix = stackalloc byte[48];
        Utf8Formatter.TryFormat(sequence, prefix, out int n);
        prefix[n++] = (byte)'.';
        Utf8Formatter.TryFormat(sentAt, prefix[n..], out int m);
        n += m;
        prefix[n++] = (byte)'.';
        int dataLength = Math.Max(n, _payloadBytes);
        int bodyLength = _bodyStart.Length + dataLength;

        int w = 0;
        _head.CopyTo(span);
        w += _head.Length;
        Utf8Formatter.TryFormat(bodyLength, span[w..], out int digits);
        w += digits;
        "\r\n\r\n"u8.CopyTo(span[w..]);
        w += 4;
        _bodyStart.CopyTo(span[w..]);
        w += _bodyStart.Length;
        prefix[..n].CopyTo(span[w..]);
        w += n;
        span.Slice(w, dataLength - n).Fill((byte)'x');
        return w + dataLength - n;
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
                    var result = Volatile.Read(ref _current);
                    lock (result)
                    {
                        result.RoundTrip.Record(StepStats.ToMicros(now - _sentAt[index & (RingSize - 1)]));
                        result.Statuses[status] = result.Statuses.GetValueOrDefault(status) + 1;
                        if (status == 200)
                        {
                            result.Ok++;
                        }
                        else
                        {
                            result.Failed++;
                        }
                    }

                    Interlocked.Increment(ref _responses);
                    try
                    {
                        _window.Release();
                    }
                    catch (SemaphoreFullException)
                    {
                        // A late answer to a step that gave up waiting: its window is gone.
                    }
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
