using System.Text;

namespace LoadGen;

/// <summary>
/// The parts of an HTTP/1.1 response head the load generator needs. Pure: takes bytes, returns false when
/// the head is not complete yet.
/// </summary>
internal readonly struct ResponseHead
{
    private static ReadOnlySpan<byte> HeadEnd => "\r\n\r\n"u8;

    public int Status { get; init; }
    public int Length { get; init; }          // bytes of the head, blank line included
    public long ContentLength { get; init; }  // -1 when absent
    public bool Chunked { get; init; }
    public bool Close { get; init; }

    public static bool TryParse(ReadOnlySpan<byte> input, out ResponseHead head)
    {
        head = default;
        int end = input.IndexOf(HeadEnd);
        if (end < 0)
        {
            return false;
        }

        var block = input[..end];
        int eol = block.IndexOf("\r\n"u8);
        var statusLine = eol < 0 ? block : block[..eol];
        // "HTTP/1.1 200 OK": the status is the three digits after the first space.
        int space = statusLine.IndexOf((byte)' ');
        if (space < 0 || statusLine.Length < space + 4 || !TryDigits(statusLine.Slice(space + 1, 3), out long status))
        {
            throw new InvalidDataException($"bad status line: {Encoding.ASCII.GetString(statusLine)}");
        }

        long contentLength = -1;
        bool chunked = false, close = false;
        var rest = eol < 0 ? [] : block[(eol + 2)..];
        while (!rest.IsEmpty)
        {
            int next = rest.IndexOf("\r\n"u8);
            var line = next < 0 ? rest : rest[..next];
            rest = next < 0 ? [] : rest[(next + 2)..];
            int colon = line.IndexOf((byte)':');
            if (colon <= 0)
            {
                continue;
            }

            var name = line[..colon];
            var value = line[(colon + 1)..].Trim((byte)' ');
            if (name.EqualsAsciiIgnoreCase("content-length"u8) && TryDigits(value, out long length))
            {
                contentLength = length;
            }
            else if (name.EqualsAsciiIgnoreCase("transfer-encoding"u8))
            {
                chunked = value.EqualsAsciiIgnoreCase("chunked"u8);
            }
            else if (name.EqualsAsciiIgnoreCase("connection"u8))
            {
                close = value.EqualsAsciiIgnoreCase("close"u8);
            }
        }

        head = new ResponseHead { Status = (int)status, Length = end + 4, ContentLength = contentLength, Chunked = chunked, Close = close };
        return true;
    }

    private static bool TryDigits(ReadOnlySpan<byte> text, out long value)
    {
        value = 0;
        if (text.IsEmpty)
        {
            return false;
        }

        foreach (byte b in text)
        {
            if (b is < (byte)'0' or > (byte)'9')
            {
                return false;
            }

            value = value * 10 + (b - '0');
        }

        return true;
    }
}
