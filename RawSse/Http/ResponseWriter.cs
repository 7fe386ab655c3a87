using System.Buffers;
using System.Buffers.Text;
using System.Text;

namespace RawSse.Http;

/// <summary>Writes a status line and header fields (CRLF-terminated, RFC 9112 §4) as bytes into a buffer writer.</summary>
internal static class ResponseWriter
{
    private const int MaxSingleSpanBytes = 1024 * 1024;
    private static readonly byte[] s_crlf = "\r\n"u8.ToArray();

    public static void WriteStatusLine(IBufferWriter<byte> writer, int status)
    {
        Write(writer, "HTTP/1.1 "u8);
        WriteNumber(writer, status);
        Write(writer, " "u8);
        Write(writer, ReasonPhrase(status));
        Write(writer, s_crlf);
        Write(writer, "Date: "u8);
        Write(writer, HttpDate.Current);
        Write(writer, "\r\nServer: RawSse\r\n"u8);
    }

    public static void WriteHeader(IBufferWriter<byte> writer, ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        Write(writer, name);
        Write(writer, ": "u8);
        Write(writer, value);
        Write(writer, s_crlf);
    }

    /// <summary>Writes a header whose value is ASCII text the server itself produced (never raw client input).</summary>
    public static void WriteHeader(IBufferWriter<byte> writer, ReadOnlySpan<byte> name, string value)
    {
        Write(writer, name);
        Write(writer, ": "u8);
        int written = Encoding.ASCII.GetBytes(value, writer.GetSpan(value.Length));
        writer.Advance(written);
        Write(writer, s_crlf);
    }

    public static void WriteHeader(IBufferWriter<byte> writer, ReadOnlySpan<byte> name, long value)
    {
        Write(writer, name);
        Write(writer, ": "u8);
        WriteNumber(writer, value);
        Write(writer, s_crlf);
    }

    public static void WriteConnection(IBufferWriter<byte> writer, bool keepAlive, bool http10)
    {
        if (!keepAlive)
        {
            Write(writer, "Connection: close\r\n"u8);
        }
        else if (http10)
        {
            Write(writer, "Connection: keep-alive\r\n"u8);
        }
    }

    public static void EndHeaders(IBufferWriter<byte> writer) => Write(writer, s_crlf);

    /// <summary>A complete short text/plain response, e.g. for errors: "404 Not Found\n".</summary>
    public static void WriteSimple(IBufferWriter<byte> writer, int status, bool keepAlive, bool http10, bool headOnly = false,
        ReadOnlySpan<byte> extraHeaderName = default, string? extraHeaderValue = null, ReadOnlySpan<byte> headerBlock = default)
    {
        WriteStatusLine(writer, status);
        Write(writer, headerBlock);
        var reason = ReasonPhrase(status);
        int length = DigitCount(status) + 1 + reason.Length + 1;
        Write(writer, "Content-Type: text/plain; charset=utf-8\r\n"u8);
        WriteHeader(writer, "Content-Length"u8, length);
        if (extraHeaderValue is not null)
        {
            WriteHeader(writer, extraHeaderName, extraHeaderValue);
        }

        WriteConnection(writer, keepAlive, http10);
        EndHeaders(writer);
        if (!headOnly)
        {
            WriteNumber(writer, status);
            Write(writer, " "u8);
            Write(writer, reason);
            Write(writer, "\n"u8);
        }
    }

    public static void Write(IBufferWriter<byte> writer, ReadOnlySpan<byte> bytes)
    {
        // One span of the whole size, so a cached file leaves in one send rather than one per pipe segment.
        if (bytes.Length <= MaxSingleSpanBytes)
        {
            bytes.CopyTo(writer.GetSpan(bytes.Length));
            writer.Advance(bytes.Length);
            return;
        }

        while (!bytes.IsEmpty)
        {
            var span = writer.GetSpan();
            int n = Math.Min(span.Length, bytes.Length);
            bytes[..n].CopyTo(span);
            writer.Advance(n);
            bytes = bytes[n..];
        }
    }

    public static void WriteNumber(IBufferWriter<byte> writer, long value)
    {
        var span = writer.GetSpan(20);
        Utf8Formatter.TryFormat(value, span, out int written);
        writer.Advance(written);
    }

    private static int DigitCount(int value) => value < 10 ? 1 : value < 100 ? 2 : 3;

    public static ReadOnlySpan<byte> ReasonPhrase(int status) => status switch
    {
        100 => "Continue"u8,
        200 => "OK"u8,
        204 => "No Content"u8,
        301 => "Moved Permanently"u8,
        304 => "Not Modified"u8,
        400 => "Bad Request"u8,
        401 => "Unauthorized"u8,
        403 => "Forbidden"u8,
        404 => "Not Found"u8,
        405 => "Method Not Allowed"u8,
        408 => "Request Timeout"u8,
        413 => "Content Too Large"u8,
        414 => "URI Too Long"u8,
        415 => "Unsupported Media Type"u8,
        417 => "Expectation Failed"u8,
        421 => "Misdirected Request"u8,
        429 => "Too Many Requests"u8,
        431 => "Request Header Fields Too Large"u8,
        500 => "Internal Server Error"u8,
        501 => "Not Implemented"u8,
        503 => "Service Unavailable"u8,
        505 => "HTTP Version Not Supported"u8,
        _ => "Unknown"u8,
    };
}
