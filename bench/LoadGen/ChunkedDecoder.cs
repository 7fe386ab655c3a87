namespace LoadGen;

/// <summary>
/// Removes HTTP/1.1 chunked framing (RFC 9112 §7.1) in place, as bytes arrive. Go's net/http and Kestrel
/// stream SSE chunked; RawSse sends a close-delimited body and never needs this.
/// </summary>
internal struct ChunkedDecoder
{
    private const byte ByteLF = (byte)'\n';

    private enum State : byte { Size, Extension, Data, DataEnd, Done }

    private State _state;
    private long _remaining;

    /// <summary>True once the last (zero-size) chunk has been seen: the server ended the stream.</summary>
    public readonly bool Ended => _state == State.Done;

    /// <summary>Decodes <paramref name="buffer"/> in place; returns how many body bytes now start it.</summary>
    public int Decode(Span<byte> buffer)
    {
        int read = 0, written = 0;
        while (read < buffer.Length && _state != State.Done)
        {
            switch (_state)
            {
                case State.Size:
                {
                    byte b = buffer[read++];
                    int digit = HexValue(b);
                    if (digit >= 0)
                    {
                        _remaining = _remaining * 16 + digit;
                    }
                    else if (b == ByteLF)
                    {
                        _state = _remaining == 0 ? State.Done : State.Data;
                    }
                    else if (b != (byte)'\r')
                    {
                        _state = State.Extension;
                    }

                    break;
                }

                case State.Extension:
                    if (buffer[read++] == ByteLF)
                    {
                        _state = _remaining == 0 ? State.Done : State.Data;
                    }

                    break;

                case State.Data:
                {
                    int take = (int)Math.Min(_remaining, buffer.Length - read);
                    buffer.Slice(read, take).CopyTo(buffer[written..]);
                    read += take;
                    written += take;
                    _remaining -= take;
                    if (_remaining == 0)
                    {
                        _state = State.DataEnd;
                    }

                    break;
                }

                case State.DataEnd:
                    // The CRLF after the chunk's data.
                    if (buffer[read++] == ByteLF)
                    {
                        _state = State.Size;
                    }

                    break;
            }
        }

        return written;
    }

    private static int HexValue(byte b) => b switch
    {
        >= (byte)'0' and <= (byte)'9' => b - '0',
        >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
        _ => -1,
    };
}
