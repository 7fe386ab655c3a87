using System.Text;

namespace RawSse.Http;

/// <summary>
/// One header field line (RFC 9112 §5, RFC 9110 §5): validated, and stored in the request when the server acts on it.
/// Every other field is checked and skipped.
/// </summary>
internal static class HeaderFieldParser
{
    // RFC 9112 §5: field-line = field-name ":" OWS field-value OWS
    public static void ParseLine(ReadOnlySpan<byte> line, HttpRequest request)
    {
        if (line[0] == HttpSyntax.ByteSpace || line[0] == HttpSyntax.ByteTab)
        {
            // RFC 9112 §5.2: obs-fold is rejected with 400 by a server that does not unfold it.
            HttpSyntax.Reject(400, "obsolete line folding");
        }

        int colon = line.IndexOf((byte)':');
        if (colon <= 0)
        {
            HttpSyntax.Reject(400, "malformed header field");
        }

        var name = line[..colon];
        if (!HttpSyntax.IsToken(name))
        {
            // Covers RFC 9112 §5.1: "No whitespace is allowed between the field name and colon."
            HttpSyntax.Reject(400, "invalid header field name");
        }

        var value = line[(colon + 1)..].Trim(" \t"u8);
        foreach (byte b in value)
        {
            // RFC 9110 §5.5: field-vchar / SP / HTAB / obs-text. NUL, CR, LF and other controls are refused.
            if ((b < 0x20 && b != HttpSyntax.ByteTab) || b == 0x7F)
            {
                HttpSyntax.Reject(400, "invalid character in header field value");
            }
        }

        StoreKnownHeader(name, value, request);
    }

    // The fields kept as the text they are (Latin-1, as RFC 9110 §5.5 allows), and where each goes.
    private static readonly (byte[] Name, Action<HttpRequest, string> Store)[] s_textFields =
    [
        ("authorization"u8.ToArray(), static (request, text) => request.Authorization = text),
        ("expect"u8.ToArray(), static (request, text) => request.Expect = text),
        ("if-modified-since"u8.ToArray(), static (request, text) => request.IfModifiedSince = text),
        ("origin"u8.ToArray(), static (request, text) => request.Origin = text),
    ];

    private static void StoreKnownHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, HttpRequest request)
    {
        switch (name.Length)
        {
            case 4 when Eq(name, "host"u8):
                request.HostCount++;
                request.Host = request.RecentHost.Get(value);
                return;
            case 12 when Eq(name, "content-type"u8):
                request.ContentType = request.RecentContentType.Get(value);
                return;
            case 6 when Eq(name, "cookie"u8):
                // RFC 6265 §5.4: one Cookie field, but HTTP/2-style split fields join with "; ".
                request.Cookie = request.Cookie is null ? Encoding.Latin1.GetString(value) : request.Cookie + "; " + Encoding.Latin1.GetString(value);
                return;
            case 10 when Eq(name, "connection"u8):
                ParseConnection(value, request);
                return;
            case 13 when Eq(name, "if-none-match"u8):
                request.IfNoneMatch = AppendListValue(request.IfNoneMatch, value);
                return;
            case 13 when Eq(name, "last-event-id"u8):
                // The spec's id is any Unicode text; decode it as UTF-8 (invalid bytes become U+FFFD).
                request.LastEventId = Encoding.UTF8.GetString(value);
                return;
            case 14 when Eq(name, "content-length"u8):
                if (request.ContentLength >= 0)
                {
                    HttpSyntax.Reject(400, "several Content-Length fields");
                }

                request.ContentLength = ParseContentLength(value);
                return;
            case 14 when Eq(name, "sec-fetch-site"u8):
                request.SecFetchSite = Encoding.Latin1.GetString(value).ToLowerInvariant();
                return;
            case 17 when Eq(name, "transfer-encoding"u8):
                request.TransferEncoding = AppendListValue(request.TransferEncoding, value);
                return;
        }

        foreach (var (fieldName, store) in s_textFields)
        {
            if (fieldName.Length == name.Length && Eq(name, fieldName))
            {
                store(request, Encoding.Latin1.GetString(value));
                return;
            }
        }
    }

    // RFC 9110 §5.3: repeated list-based fields combine into one comma-separated value.
    private static string AppendListValue(string? existing, ReadOnlySpan<byte> value) =>
        existing is null ? Encoding.Latin1.GetString(value) : existing + ", " + Encoding.Latin1.GetString(value);

    private static bool Eq(ReadOnlySpan<byte> name, ReadOnlySpan<byte> lower) => System.Text.Ascii.EqualsIgnoreCase(name, lower);

    private static long ParseContentLength(ReadOnlySpan<byte> value)
    {
        // RFC 9110 §8.6: Content-Length = 1*DIGIT. Signs, spaces and lists are refused.
        if (value.IsEmpty || value.Length > 18)
        {
            HttpSyntax.Reject(400, "invalid Content-Length");
        }

        long n = 0;
        foreach (byte b in value)
        {
            if (b < (byte)'0' || b > (byte)'9')
            {
                HttpSyntax.Reject(400, "invalid Content-Length");
            }

            n = (n * 10) + (b - (byte)'0');
        }

        return n;
    }

    private static void ParseConnection(ReadOnlySpan<byte> value, HttpRequest request)
    {
        foreach (var range in value.Split((byte)','))
        {
            var token = value[range].Trim(" \t"u8);
            if (Eq(token, "close"u8))
            {
                request.ConnectionClose = true;
            }
            else if (Eq(token, "keep-alive"u8))
            {
                request.ConnectionKeepAlive = true;
            }
        }
    }
}
