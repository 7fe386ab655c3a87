namespace LoadGen;

/// <summary>
/// A small SSE frame scanner (WHATWG HTML §9.2.6): splits the body into lines, remembers the fields of the
/// event being built, and dispatches on the blank line. It keeps no copy of any line: the caller keeps the
/// unfinished tail of its buffer. Only what the benchmark needs is decoded, and nothing is allocated.
///
/// Bench events carry <c>data: SEQ.SENTAT.padding</c>; ticker events carry <c>data: {"id":N,...}</c>.
/// </summary>
internal struct SseScanner
{
    private const byte ByteLF = (byte)'\n';
    private const byte ByteCR = (byte)'\r';
    private const byte ByteColon = (byte)':';
    private const byte ByteSpace = (byte)' ';
    private const byte ByteDot = (byte)'.';

    private long _sequence;   // -1: no bench payload in the current event
    private long _sentAt;
    private long _tickId;     // -1: no tick payload
    private bool _isTick;
    private bool _hasData;
    private bool _skipping;   // the rest of an over-long line is discarded

    public SseScanner()
    {
        _sequence = -1;
        _tickId = -1;
    }

    /// <summary>Scans complete lines of <paramref name="body"/>; returns the bytes consumed (up to the last LF).</summary>
    public int Scan<TSink>(ReadOnlySpan<byte> body, long receivedAt, TSink sink) where TSink : IEventSink
    {
        int consumed = 0;
        while (true)
        {
            int lf = body[consumed..].IndexOf(ByteLF);
            if (lf < 0)
            {
                return consumed;
            }

            var line = body.Slice(consumed, lf);
            consumed += lf + 1;
            if (_skipping)
            {
                _skipping = false;
                continue;
            }

            if (!line.IsEmpty && line[^1] == ByteCR)
            {
                line = line[..^1];
            }

            if (line.IsEmpty)
            {
                Dispatch(receivedAt, sink);
            }
            else
            {
                Field(line);
            }
        }
    }

    /// <summary>
    /// The caller's buffer is full of one unfinished line: take what the line's start says, and drop the
    /// rest of it as it arrives.
    /// </summary>
    public void SkipLongLine(ReadOnlySpan<byte> lineStart)
    {
        if (!_skipping)
        {
            Field(lineStart);
            _skipping = true;
        }
    }

    private void Field(ReadOnlySpan<byte> line)
    {
        if (line[0] == ByteColon)
        {
            return; // a comment (heartbeat)
        }

        int colon = line.IndexOf(ByteColon);
        var name = colon < 0 ? line : line[..colon];
        var value = colon < 0 ? [] : line[(colon + 1)..];
        if (!value.IsEmpty && value[0] == ByteSpace)
        {
            value = value[1..]; // "If value starts with a U+0020 SPACE character, remove it"
        }

        if (name.SequenceEqual("data"u8))
        {
            if (!_hasData)
            {
                _hasData = true;
                ParsePayload(value);
            }
        }
        else if (name.SequenceEqual("event"u8))
        {
            _isTick = value.SequenceEqual("tick"u8);
        }
    }

    private void ParsePayload(ReadOnlySpan<byte> value)
    {
        if (value.StartsWith("{\"id\":"u8))
        {
            if (TryNumber(value[6..], out long id, out _))
            {
                _tickId = id;
            }

            return;
        }

        if (TryNumber(value, out long sequence, out int used) && used < value.Length && value[used] == ByteDot &&
            TryNumber(value[(used + 1)..], out long sentAt, out _))
        {
            _sequence = sequence;
            _sentAt = sentAt;
        }
    }

    private void Dispatch<TSink>(long receivedAt, TSink sink) where TSink : IEventSink
    {
        if (_sequence >= 0)
        {
            sink.OnEvent(_sequence, _sentAt, receivedAt);
        }
        else if (_isTick && _tickId >= 0)
        {
            sink.OnTick(_tickId, receivedAt);
        }

        _sequence = -1;
        _tickId = -1;
        _isTick = false;
        _hasData = false;
    }

    private static bool TryNumber(ReadOnlySpan<byte> text, out long value, out int used)
    {
        value = 0;
        used = 0;
        while (used < text.Length && text[used] is >= (byte)'0' and <= (byte)'9' && used < 19)
        {
            value = value * 10 + (text[used] - '0');
            used++;
        }

        return used > 0;
    }
}
