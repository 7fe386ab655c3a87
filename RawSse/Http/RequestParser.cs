using System.Buffers;
using System.Text;

namespace RawSse.Http;

/// <summary>
/// A pure HTTP/1.1 request-head parser (RFC 9112 §2–§5). It does no I/O: it takes bytes, returns
/// <c>false</c> when it needs more, and throws <see cref="BadRequestException"/> for malformed input.
/// Complete lines are consumed as they arrive and the progress is kept in the <see cref="HttpRequest"/>,
/// so a head delivered one byte at a time is not parsed again from its start.
/// </summary>
internal static class RequestParser
{
    private const byte ByteSlash = (byte)'/';
    private const byte ByteQuestion = (byte)'?';
    private const byte ByteHash = (byte)'#';

    /// <summary>Reads the request line and header fields. True when the blank line ending the head has been read.</summary>
    public static bool TryParseHead(ref SequenceReader<byte> reader, HttpRequest request, in RequestLimits limits)
    {
        if (!request.RequestLineDone)
        {
            // RFC 9112 §2.2: a server SHOULD ignore at least one empty line received before the request-line
            // (some clients send a stray CRLF after a POST body). One is skipped; more are malformed.
            if (!request.LeadingLineSkipped && reader.IsNext("\r\n"u8, advancePast: true))
            {
                request.LeadingLineSkipped = true;
            }

            if (!HttpSyntax.TryReadLine(ref reader, limits.MaxRequestLineBytes, 414, "request line too long", out var line))
            {
                return false;
            }

            ParseRequestLine(line, request);
            request.RequestLineDone = true;
        }

        while (true)
        {
            int budget = limits.MaxHeaderBytes - request.HeaderBytes;
            if (!HttpSyntax.TryReadLine(ref reader, budget, 431, "request header fields too large", out var line))
            {
                return false;
            }

            request.HeaderBytes += line.Length + 2;
            if (line.IsEmpty)
            {
                ValidateHead(request);
                return true;
            }

            if (++request.HeaderCount > limits.MaxHeaderCount)
            {
                Reject(431, "too many header fields");
            }

            HeaderFieldParser.ParseLine(line, request);
        }
    }

    // RFC 9112 §3: request-line = method SP request-target SP HTTP-version
    private static void ParseRequestLine(ReadOnlySpan<byte> line, HttpRequest request)
    {
        int sp1 = line.IndexOf(HttpSyntax.ByteSpace);
        if (sp1 <= 0)
        {
            Reject(400, "malformed request line");
        }

        var method = line[..sp1];
        var rest = line[(sp1 + 1)..];
        int sp2 = rest.IndexOf(HttpSyntax.ByteSpace);
        if (sp2 <= 0)
        {
            Reject(400, "malformed request line");
        }

        var target = rest[..sp2];
        var version = rest[(sp2 + 1)..];

        if (!HttpSyntax.IsToken(method))
        {
            Reject(400, "invalid method token");
        }

        request.MinorVersion = ParseVersion(version);
        request.Method = ParseMethod(method);
        ParseTarget(target, request);
    }

    private static int ParseVersion(ReadOnlySpan<byte> version)
    {
        // RFC 9112 §2.3: HTTP-version = "HTTP" "/" DIGIT "." DIGIT (case-sensitive).
        if (version.Length != 8 || !version.StartsWith("HTTP/"u8) || !char.IsAsciiDigit((char)version[5])
            || version[6] != (byte)'.' || !char.IsAsciiDigit((char)version[7]))
        {
            Reject(400, "malformed HTTP version");
        }

        if (version[5] != (byte)'1' || (version[7] != (byte)'0' && version[7] != (byte)'1'))
        {
            Reject(505, "HTTP version not supported");
        }

        return version[7] - (byte)'0';
    }

    private static RequestMethod ParseMethod(ReadOnlySpan<byte> method)
    {
        // Methods are case-sensitive (RFC 9110 §9.1).
        if (method.SequenceEqual("GET"u8)) return RequestMethod.Get;
        if (method.SequenceEqual("HEAD"u8)) return RequestMethod.Head;
        if (method.SequenceEqual("POST"u8)) return RequestMethod.Post;
        if (method.SequenceEqual("PUT"u8)) return RequestMethod.Put;
        if (method.SequenceEqual("DELETE"u8)) return RequestMethod.Delete;
        if (method.SequenceEqual("OPTIONS"u8)) return RequestMethod.Options;
        if (method.SequenceEqual("PATCH"u8)) return RequestMethod.Patch;
        if (method.SequenceEqual("TRACE"u8)) return RequestMethod.Trace;
        if (method.SequenceEqual("CONNECT"u8)) return RequestMethod.Connect;
        Reject(501, "method not implemented");
        return default;
    }

    private static void ParseTarget(ReadOnlySpan<byte> target, HttpRequest request)
    {
        foreach (byte b in target)
        {
            // RFC 9112 §3.2: the target is visible ASCII; a fragment is never sent.
            if (b <= 0x20 || b >= 0x7F || b == ByteHash)
            {
                Reject(400, "invalid character in request target");
            }
        }

        request.Target = request.RecentTarget.Get(target);
        ReadOnlySpan<byte> pathAndQuery;
        if (target[0] == ByteSlash)
        {
            pathAndQuery = target;
        }
        else if (TryStripScheme(target, out var afterScheme))
        {
            // RFC 9112 §3.2.2: absolute-form, which a server MUST accept. The authority is not used for routing.
            int pathStart = afterScheme.IndexOfAny(ByteSlash, ByteQuestion);
            if (pathStart == 0)
            {
                Reject(400, "absolute-form target without authority");
            }

            pathAndQuery = pathStart < 0 ? "/"u8 : afterScheme[pathStart..];
            if (pathAndQuery[0] == ByteQuestion)
            {
                request.Path = "/";
                request.Query = request.RecentQuery.Get(pathAndQuery[1..]);
                return;
            }
        }
        else
        {
            // asterisk-form (OPTIONS *) and authority-form (CONNECT) serve no route here.
            Reject(400, "unsupported request-target form");
            return;
        }

        int q = pathAndQuery.IndexOf(ByteQuestion);
        // The target as it came is the path itself, most of the time.
        request.Path = q < 0 && pathAndQuery.Length == target.Length ? request.Target : request.RecentPath.Get(q < 0 ? pathAndQuery : pathAndQuery[..q]);
        request.Query = q < 0 ? "" : request.RecentQuery.Get(pathAndQuery[(q + 1)..]);
    }

    private static bool TryStripScheme(ReadOnlySpan<byte> target, out ReadOnlySpan<byte> rest)
    {
        foreach (var scheme in (ReadOnlySpan<string>)["http://", "https://"])
        {
            if (target.Length > scheme.Length && System.Text.Ascii.EqualsIgnoreCase(target[..scheme.Length], scheme))
            {
                rest = target[scheme.Length..];
                return true;
            }
        }

        rest = default;
        return false;
    }

    private static void ValidateHead(HttpRequest request)
    {
        // RFC 9112 §3.2: a server MUST answer 400 to an HTTP/1.1 request lacking Host, or with several.
        if (request.HostCount > 1 || (request.MinorVersion == 1 && request.HostCount == 0))
        {
            Reject(400, request.HostCount > 1 ? "several Host fields" : "missing Host");
        }

        if (request.TransferEncoding is { } codings)
        {
            // RFC 9112 §6.3: Transfer-Encoding with Content-Length is a smuggling signal; close after answering.
            if (request.ContentLength >= 0)
            {
                Reject(400, "both Transfer-Encoding and Content-Length");
            }

            // RFC 9112 §6.1: an HTTP/1.0 request with Transfer-Encoding has faulty framing; chunked must come last,
            // and a coding the server does not implement gets 501.
            if (request.MinorVersion == 0)
            {
                Reject(400, "Transfer-Encoding in an HTTP/1.0 request");
            }

            var last = codings.AsSpan(codings.LastIndexOf(',') + 1).Trim(" \t");
            if (!last.Equals("chunked", StringComparison.OrdinalIgnoreCase))
            {
                Reject(400, "chunked is not the final transfer coding");
            }

            if (codings.Contains(','))
            {
                Reject(501, "transfer coding not implemented");
            }

            request.Chunked = true;
        }

        if (request.Expect is { } expect && request.MinorVersion == 1)
        {
            // RFC 9110 §10.1.1: 100-continue is the only expectation; any other gets 417.
            if (!expect.Equals("100-continue", StringComparison.OrdinalIgnoreCase))
            {
                Reject(417, "unsupported expectation");
            }

            request.ExpectsContinue = true;
        }
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void Reject(int status, string reason) => HttpSyntax.Reject(status, reason);
}
