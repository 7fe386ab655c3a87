using System.Buffers;

namespace RawSse.Http;

/// <summary>The HTTP grammar the request parsers share: named bytes, tokens, and the one way to refuse a request.</summary>
internal static class HttpSyntax
{
    /// <summary>
    /// Reads one CRLF-terminated line, without its CRLF. A line longer than <paramref name="maxLength"/>
    /// (terminator included) is refused with <paramref name="tooLongStatus"/> as soon as that many bytes are buffered.
    /// Policy: a bare LF is not a line terminator here (RFC 9112 §2.2 permits either choice; strict is safer
    /// behind proxies that differ), and a CR anywhere else in a line is refused.
    /// </summary>
    public static bool TryReadLine(ref SequenceReader<byte> reader, int maxLength, int tooLongStatus, string tooLongReason, out ReadOnlySpan<byte> line)
    {
        if (!reader.TryReadTo(out ReadOnlySpan<byte> raw, ByteLF, advancePastDelimiter: true))
        {
            if (reader.Remaining >= maxLength)
            {
                Reject(tooLongStatus, tooLongReason);
            }

            line = default;
            return false;
        }

        if (raw.Length + 1 > maxLength)
        {
            Reject(tooLongStatus, tooLongReason);
        }

        if (raw.IsEmpty || raw[^1] != ByteCR)
        {
            Reject(400, "bare LF line terminator");
        }

        line = raw[..^1];
        if (line.Contains(ByteCR))
        {
            Reject(400, "bare CR in a line");
        }

        return true;
    }

    // RFC 9110 §5.6.2: token = 1*tchar
    public static bool IsToken(ReadOnlySpan<byte> span) => !span.IsEmpty && span.IndexOfAnyExcept(s_tchars) < 0;

    // RFC 9110 §5.6.2: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
    private static readonly System.Buffers.SearchValues<byte> s_tchars =
        System.Buffers.SearchValues.Create("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"u8);

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    public static void Reject(int status, string reason) => throw new BadRequestException(status, reason);

    public const byte ByteSpace = (byte)' ';
    public const byte ByteTab = (byte)'\t';
    public const byte ByteCR = (byte)'\r';
    public const byte ByteLF = (byte)'\n';
}
