using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace RawSse.Tests;

internal enum WireKind
{
    Event,
    Comment,
    End,
}

/// <summary>A comment line, a dispatched event, or the end of the stream, stamped with the read that delivered it.</summary>
internal sealed record WireItem(WireKind Kind, string? Id, string? Type, string Data, DateTime ArrivedUtc, long ArrivedTimestamp);

/// <summary>
/// An HTTP/1.1 event stream read over a <see cref="RawClient"/> (through nginx): de-chunks nginx's chunked body and parses SSE lines,
/// stamping each item with the time of the read that delivered it (so batching would show).
/// </summary>
internal sealed class WireStream : IDisposable
{
    private static readonly TimeSpan HeadTimeout = TimeSpan.FromSeconds(5);

    private readonly RawClient _client;
    private readonly byte[] _buffer = new byte[16 * 1024];
    private readonly List<byte> _raw = [];   // received, not yet de-chunked
    private readonly List<byte> _body = [];  // de-chunked, not yet split into lines
    private readonly StringBuilder _transcript = new();
    private readonly bool _chunked;
    private long _chunkLeft = -1;             // -1: a chunk-size line is next; 0: the CRLF after a chunk is next
    private bool _ended;
    private DateTime _readUtc;
    private long _readTimestamp;
    private string? _id;
    private string? _type;
    private readonly List<string> _data = [];

    private WireStream(RawClient client, HttpResponse head)
    {
        _client = client;
        Head = head;
        _chunked = head.Headers.TryGetValue("transfer-encoding", out var te) && te.Contains("chunked", StringComparison.OrdinalIgnoreCase);
        Stamp();
        _raw.AddRange(client.TakeBuffered()); // what came with the head, at the head's time
        Dechunk();
    }

    public HttpResponse Head { get; }

    public string Transcript => Describe.Escape(_transcript.ToString());

    /// <summary>Sends <c>GET target</c> as a browser's EventSource would (to nginx on <paramref name="port"/>) and reads the response head.</summary>
    public static async Task<WireStream> OpenAsync(int port, string target)
    {
        var client = await RawClient.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), timeout: HeadTimeout);
        try
        {
            await client.SendAsync($"GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n");
            var head = await client.ReadResponseAsync(expectBody: false, HeadTimeout);
            return new WireStream(client, head);
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    /// <summary>The next comment, event or end of stream; null when nothing arrives within <paramref name="timeout"/>.</summary>
    public async Task<WireItem?> ReadItemAsync(TimeSpan timeout)
    {
        if (timeout <= TimeSpan.Zero)
        {
            return null;
        }

        using var cts = new CancellationTokenSource(timeout);
        while (true)
        {
            if (TryTakeItem(out var item))
            {
                return item;
            }

            if (_ended)
            {
                return new WireItem(WireKind.End, null, null, "", _readUtc, _readTimestamp);
            }

            int n;
            try
            {
                n = await _client.ReceiveAsync(_buffer, cts.Token);
            }
            catch (OperationCanceledException)
            {
                return null;
            }
            catch (SocketException)
            {
                n = 0; // a reset ends the stream too
            }

            Stamp();
            if (n == 0)
            {
                _transcript.Append("<EOF>");
                _ended = true;
                continue;
            }

            _raw.AddRange(_buffer.AsSpan(0, n));
            Dechunk();
        }
    }

    private void Stamp()
    {
        _readUtc = DateTime.UtcNow;
        _readTimestamp = Stopwatch.GetTimestamp();
    }

    // RFC 9112 §7.1: chunk-size [ chunk-ext ] CRLF, chunk-data CRLF; a zero size ends the body.
    private void Dechunk()
    {
        if (!_chunked)
        {
            _body.AddRange(_raw);
            _raw.Clear();
            return;
        }

        while (true)
        {
            if (_chunkLeft < 0)
            {
                int eol = IndexOf(_raw, "\r\n"u8);
                if (eol < 0)
                {
                    return;
                }

                string sizeText = Encoding.ASCII.GetString([.. _raw.Take(eol)]).Split(';')[0].Trim();
                _raw.RemoveRange(0, eol + 2);
                _chunkLeft = long.Parse(sizeText, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
                if (_chunkLeft == 0)
                {
                    _transcript.Append("<last chunk>");
                    _ended = true;
                    return;
                }
            }
            else if (_chunkLeft == 0)
            {
                if (_raw.Count < 2)
                {
                    return;
                }

                _raw.RemoveRange(0, 2);
                _chunkLeft = -1;
            }
            else
            {
                int take = (int)Math.Min(_chunkLeft, _raw.Count);
                if (take == 0)
                {
                    return;
                }

                _body.AddRange(_raw.Take(take));
                _raw.RemoveRange(0, take);
                _chunkLeft -= take;
            }
        }
    }

    // WHATWG HTML §9.2.6: lines end in LF (or CR/CRLF; RawSse writes LF); ':' starts a comment; a blank line dispatches.
    private bool TryTakeItem(out WireItem item)
    {
        while (true)
        {
            int eol = _body.IndexOf((byte)'\n');
            if (eol < 0)
            {
                item = null!;
                return false;
            }

            string line = Encoding.UTF8.GetString([.. _body.Take(eol)]).TrimEnd('\r');
            _body.RemoveRange(0, eol + 1);
            _transcript.Append(line).Append('\n');
            if (line.Length == 0)
            {
                bool dispatch = _data.Count > 0;
                item = new WireItem(WireKind.Event, _id, _type, string.Join('\n', _data), _readUtc, _readTimestamp);
                _type = null;
                _data.Clear();
                if (dispatch)
                {
                    return true;
                }

                continue; // a block with no data (the opening "retry:") dispatches nothing
            }

            if (line[0] == ':')
            {
                item = new WireItem(WireKind.Comment, null, null, line[1..], _readUtc, _readTimestamp);
                return true;
            }

            int colon = line.IndexOf(':');
            string field = colon < 0 ? line : line[..colon];
            string value = colon < 0 ? "" : line[(colon + 1)..];
            if (value.StartsWith(' '))
            {
                value = value[1..];
            }

            switch (field)
            {
                case "id":
                    _id = value;
                    break;
                case "event":
                    _type = value;
                    break;
                case "data":
                    _data.Add(value);
                    break;
            }
        }
    }

    private static int IndexOf(List<byte> bytes, ReadOnlySpan<byte> marker)
    {
        for (int i = 0; i + marker.Length <= bytes.Count; i++)
        {
            bool match = true;
            for (int j = 0; j < marker.Length && match; j++)
            {
                match = bytes[i + j] == marker[j];
            }

            if (match)
            {
                return i;
            }
        }

        return -1;
    }

    public void Dispose() => _client.Dispose();
}
