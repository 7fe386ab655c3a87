using System.Globalization;
using System.Text;

namespace RawSse.Tests;

/// <summary>What <see cref="HttpResponseScanner.TryScanHead"/> found at the start of the bytes.</summary>
internal enum HeadScan
{
    /// <summary>So far a well-formed beginning, but no blank line yet.</summary>
    NeedMore,

    /// <summary>A complete, well-formed head.</summary>
    Head,

    /// <summary>Not an HTTP/1.1 response head.</summary>
    Malformed,
}

/// <summary>One response head as it arrived: its length (blank line included), status line and fields, and the fields that frame the body.</summary>
internal sealed record ResponseHead(int Length, string StatusLine, int Status, IReadOnlyList<KeyValuePair<string, string>> Fields, long? ContentLength, bool IsEventStream, bool AnnouncesClose)
{
    /// <summary>RFC 9112 §6.3: a 1xx, 204 or 304 response has no body, whatever its fields say.</summary>
    public bool StatusForbidsBody => Status is (>= 100 and < 200) or 204 or 304;
}

/// <summary>
/// The tests' one HTTP/1.1 response parser. Pure, in the manner of Kestrel's: it takes bytes and says "need more",
/// "here is a head" or "malformed (and why)"; it does no I/O. <see cref="RawClient"/> reads a head with it, and the
/// fuzzer's oracle walks a whole connection's bytes with it, response after response.
/// </summary>
internal static class HttpResponseScanner
{
    public static ReadOnlySpan<byte> StatusPrefix => "HTTP/1.1 "u8;

    private static ReadOnlySpan<byte> CrLf => "\r\n"u8;

    private static ReadOnlySpan<byte> CrLfCrLf => "\r\n\r\n"u8;

    /// <summary>
    /// Scans the response head at the start of <paramref name="data"/>: a status line "HTTP/1.1 DDD " (RFC 9112 §4:
    /// the space after the code is not optional), field lines with a name before the colon and no CR, LF or NUL, at
    /// most one Content-Length (digits only), and a blank line within <paramref name="maxHeadBytes"/>.
    /// </summary>
    public static HeadScan TryScanHead(ReadOnlySpan<byte> data, int maxHeadBytes, out ResponseHead? head, out string error)
    {
        head = null;
        error = "";
        if (!StatusPrefix.StartsWith(data[..Math.Min(data.Length, StatusPrefix.Length)]))
        {
            error = "a response that does not begin with \"HTTP/1.1 \"";
            return HeadScan.Malformed;
        }

        int headEnd = data.IndexOf(CrLfCrLf);
        if (headEnd < 0)
        {
            if (data.Length > maxHeadBytes)
            {
                error = "a response head with no end";
                return HeadScan.Malformed;
            }

            return HeadScan.NeedMore;
        }

        var bytes = data[..headEnd];
        int lineEnd = bytes.IndexOf(CrLf);
        var statusLine = lineEnd < 0 ? bytes : bytes[..lineEnd];
        if (statusLine.Length < 13 || !IsDigit(statusLine[9]) || !IsDigit(statusLine[10]) || !IsDigit(statusLine[11]) || statusLine[12] != (byte)' ')
        {
            error = "a malformed status line";
            return HeadScan.Malformed;
        }

        int status = ((statusLine[9] - '0') * 100) + ((statusLine[10] - '0') * 10) + (statusLine[11] - '0');
        long contentLength = -1;
        bool eventStream = false, close = false;
        var fields = new List<KeyValuePair<string, string>>();
        var section = lineEnd < 0 ? [] : bytes[(lineEnd + 2)..];
        foreach (var range in section.Split(CrLf))
        {
            var line = section[range];
            int colon = line.IndexOf((byte)':');
            if (colon <= 0 || line.IndexOfAny((byte)'\r', (byte)'\n', (byte)0) >= 0)
            {
                error = "a malformed response header field";
                return HeadScan.Malformed;
            }

            var name = Encoding.Latin1.GetString(line[..colon]);
            var value = Encoding.Latin1.GetString(line[(colon + 1)..]).Trim();
            fields.Add(new(name, value));
            if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
            {
                if (contentLength >= 0 || !long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out contentLength))
                {
                    error = "a bad or repeated Content-Length";
                    return HeadScan.Malformed;
                }
            }
            else if (name.Equals("Content-Type", StringComparison.OrdinalIgnoreCase))
            {
                eventStream = value.StartsWith("text/event-stream", StringComparison.OrdinalIgnoreCase);
            }
            else if (name.Equals("Connection", StringComparison.OrdinalIgnoreCase))
            {
                close = value.Equals("close", StringComparison.OrdinalIgnoreCase);
            }
        }

        head = new ResponseHead(headEnd + CrLfCrLf.Length, Encoding.Latin1.GetString(statusLine), status, fields,
            contentLength >= 0 ? contentLength : null, eventStream, close);
        return HeadScan.Head;
    }

    private static bool IsDigit(byte b) => b is >= (byte)'0' and <= (byte)'9';
}
