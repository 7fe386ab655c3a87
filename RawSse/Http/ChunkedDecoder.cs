using System.Buffers;

namespace RawSse.Http;

/// <summary>
/// The chunked transfer coding of a request body (RFC 9112 §7.1), decoded strictly and without I/O: it takes what is
/// buffered, hands the data on, and says whether the body is complete; input split anywhere, a byte at a time
/// included, decodes the same. Refused with 400: a chunk size that is not hex or overflows, a chunk line or chunk
/// extensions over 1 KiB, data not followed by CRLF, a bare LF or CR, and trailer fields over 4 KiB in all (trailers
/// are read and dropped). A body decoding to more than its limit is refused with 413 as soon as a chunk says so.
/// A mutable struct: keep it in one place.
/// </summary>
internal struct ChunkedDecoder(long maxBytes)
{
    private const int MaxChunkLineBytes = 1024;
    private const int MaxTrailerBytes = 4096;
    private const int MaxSizeDigits = 15; // 15 hex digits stay under long.MaxValue

    private State _state;
    private long _remaining;
    private int _trailerBytes;

    public long Decoded { get; private set; }

    private enum State { Size, Data, DataEnd, Trailer, Done }

    /// <summary>Decodes what <paramref name="reader"/> holds, appending the data to <paramref name="into"/> (or dropping it). True once the body is complete.</summary>
    /// <exception cref="BadRequestException">400 for malformed coding, 413 past the limit.</exception>
    public bool Decode(ref SequenceReader<byte> reader, BodyBuffer? into)
    {
        while (true)
        {
            switch (_state)
            {
                case State.Size:
                    if (!HttpSyntax.TryReadLine(ref reader, MaxChunkLineBytes, 400, "chunk line too long", out var line))
                    {
                        return false;
                    }

                    long size = ParseSize(line);
                    if (size == 0)
                    {
                        _state = State.Trailer;
                        break;
                    }

                    if (Decoded + size > maxBytes)
                    {
                        HttpSyntax.Reject(413, "chunked body too large");
                    }

                    _remaining = size;
                    _state = State.Data;
                    break;
                case State.Data:
                    long take = Math.Min(_remaining, reader.Remaining);
                    if (take == 0)
                    {
                        return false;
                    }

                    into?.Append(reader.UnreadSequence.Slice(0, take));
                    reader.Advance(take);
                    _remaining -= take;
                    Decoded += take;
                    if (_remaining == 0)
                    {
                        _state = State.DataEnd;
                    }

                    break;
                case State.DataEnd:
                    if (reader.Remaining < 2)
                    {
                        return false;
                    }

                    if (!reader.IsNext("\r\n"u8, advancePast: true))
                    {
                        HttpSyntax.Reject(400, "chunk data not followed by CRLF");
                    }

                    _state = State.Size;
                    break;
                case State.Trailer:
                    if (!HttpSyntax.TryReadLine(ref reader, MaxTrailerBytes - _trailerBytes, 400, "trailer fields too large", out var trailer))
                    {
                        return false;
                    }

                    _trailerBytes += trailer.Length + 2;
                    if (trailer.IsEmpty)
                    {
                        _state = State.Done;
                        return true;
                    }

                    if (trailer.IndexOf((byte)':') <= 0)
                    {
                        HttpSyntax.Reject(400, "malformed trailer field");
                    }

                    break;
                case State.Done:
                    return true;
            }
        }
    }

    // RFC 9112 §7.1: chunk-size [ chunk-ext ] CRLF, chunk-size = 1*HEXDIG, chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] ).
    private static long ParseSize(ReadOnlySpan<byte> line)
    {
        int digits = 0;
        long size = 0;
        while (digits < line.Length && char.IsAsciiHexDigit((char)line[digits]))
        {
            if (++digits > MaxSizeDigits)
            {
                HttpSyntax.Reject(400, "chunk size overflows");
            }

            byte b = line[digits - 1];
            size = (size << 4) | (uint)(b <= (byte)'9' ? b - '0' : (b | 0x20) - 'a' + 10);
        }

        if (digits == 0)
        {
            HttpSyntax.Reject(400, "chunk size is not hex");
        }

        var extension = line[digits..].TrimStart(" \t"u8);
        if (!extension.IsEmpty && extension[0] != (byte)';')
        {
            HttpSyntax.Reject(400, "malformed chunk extension");
        }

        foreach (byte b in extension)
        {
            if ((b < 0x20 && b != HttpSyntax.ByteTab) || b == 0x7F)
            {
                HttpSyntax.Reject(400, "control character in a chunk extension");
            }
        }

        return size;
    }
}
