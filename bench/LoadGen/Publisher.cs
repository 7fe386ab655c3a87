using System.Buffers.Text;
using System.Diagnostics;
using System.Net;
using System.Text;

namespace LoadGen;

/// <summary>
/// Publishes bench events through <c>POST /publish</c> on one keep-alive connection per server port, pipelined
/// up to a window, so each server handles its share in order; with several ports (the nodes of a cluster)
/// event SEQ goes to port SEQ mod N. Each event's data is <c>SEQ.SENTAT.padding</c>, SENTAT being the
/// <c>Stopwatch</c> timestamp (CLOCK_MONOTONIC, comparable across processes) taken just before the send.
/// The calling thread keeps the schedule; each <see cref="PublishConnection"/> reads its own responses.
/// </summary>
internal sealed class Publisher : IDisposable
{
    private const int MaxBatch = 64;

    private readonly PublishConnection[] _connections;
    private readonly byte[] _head;
    private readonly byte[] _bodyStart;
    private readonly int _payloadBytes;
    private SemaphoreSlim _window = new(1);
    private PublishResult _current = new();

    /// <param name="authorization">An <c>Authorization</c> value sent with every publish (a bearer JWT), or null.</param>
    /// <param name="extraFields">Form fields sent before <c>data</c> in every publish (<c>private=on</c>), or empty.</param>
    /// <param name="ports">The server ports to spread the events over, or empty for the url's own.</param>
    public Publisher(Uri publishUrl, string topic, int payloadBytes, string? authorization = null, string extraFields = "", IReadOnlyList<int>? ports = null)
    {
        _payloadBytes = payloadBytes;
        string auth = authorization is null ? "" : $"Authorization: {authorization}\r\n";
        _head = Encoding.ASCII.GetBytes(
            $"POST {publishUrl.PathAndQuery} HTTP/1.1\r\nHost: {publishUrl.Authority}\r\n{auth}Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ");
        string extra = extraFields.Length == 0 ? "" : extraFields + "&";
        _bodyStart = Encoding.ASCII.GetBytes($"topic={Uri.EscapeDataString(topic)}&{extra}data=");
        var host = IPAddress.Parse(publishUrl.Host);
        _connections = [.. (ports is { Count: > 0 } ? ports : [publishUrl.Port]).Select(port => new PublishConnection(new IPEndPoint(host, port), OnResponse))];
    }

    private long Requests => _connections.Sum(c => c.Requests);
    private long Responses => _connections.Sum(c => c.Responses);

    /// <summary>Publishes at <paramref name="rate"/> events/s for <paramref name="seconds"/>, then waits (bounded) for every answer.</summary>
    public PublishResult Run(double rate, double seconds, long firstSequence, int window)
    {
        var result = new PublishResult { FirstSequence = firstSequence };
        Volatile.Write(ref _current, result);
        _window = new SemaphoreSlim(Math.Min(window, PublishConnection.MaxWindow));
        long total = Math.Max(1, (long)Math.Round(rate * seconds));
        long baseRequest = Requests;
        int n = _connections.Length;
        var buffers = _connections.Select(_ => new byte[MaxBatch * (_head.Length + _bodyStart.Length + _payloadBytes + 64)]).ToArray();
        var lengths = new int[n];
        var sentAt = new long[n][];
        var batches = new int[n];
        for (int c = 0; c < n; c++)
        {
            sentAt[c] = new long[MaxBatch];
        }

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

            // Everything due now leaves in one write per connection (at most 64 requests in all).
            int batch = 0;
            Array.Clear(lengths);
            Array.Clear(batches);
            while (sent < total && batch < MaxBatch && start + (long)(sent * Stopwatch.Frequency / rate) <= now)
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
                long sequence = firstSequence + sent;
                int c = (int)(sequence % n);
                sentAt[c][batches[c]++] = now;
                lengths[c] += WriteRequest(buffers[c].AsSpan(lengths[c]), sequence, now);
                sent++;
                batch++;
            }

            for (int c = 0; c < n; c++)
            {
                if (batches[c] > 0)
                {
                    _connections[c].Send(buffers[c].AsSpan(0, lengths[c]), sentAt[c].AsSpan(0, batches[c]));
                }
            }
        }

        result.Sent = sent;
        result.Seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        var deadline = Stopwatch.GetTimestamp() + 30 * Stopwatch.Frequency;
        while (Responses < baseRequest + sent && Stopwatch.GetTimestamp() < deadline && _connections.All(c => c.Alive))
        {
            Thread.Sleep(1);
        }

        lock (result)
        {
            result.Failed += baseRequest + sent - Responses;
        }

        return result;
    }

    /// <summary>On a connection's reader thread: one response, in request order on that connection.</summary>
    private void OnResponse(int status, long roundTripMicros)
    {
        var result = Volatile.Read(ref _current);
        lock (result)
        {
            result.RoundTrip.Record(roundTripMicros);
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

        try
        {
            _window.Release();
        }
        catch (SemaphoreFullException)
        {
            // A late answer to a step that gave up waiting: its window is gone.
        }
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

    public void Dispose()
    {
        foreach (var connection in _connections)
        {
            connection.Dispose();
        }
    }
}
