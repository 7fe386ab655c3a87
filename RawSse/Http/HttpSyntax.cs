namespace RawSse.Http;

/// <summary>The HTTP grammar the request parsers share: named bytes, tokens, and the one way to refuse a request.</summary>
internal static class HttpSyntax
{
    public const byte ByteSpace = (byte)' ';
    public const byte ByteTab = (byte)'\t';

    // RFC 9110 §5.6.2: token = 1*tchar
    public static bool IsToken(ReadOnlySpan<byte> span)
    {
        if (span.IsEmpty)
        {
            return false;
        }

        foreach (byte b in span)
        {
            if (!IsTChar(b))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsTChar(byte b) =>
        (b >= (byte)'a' && b <= (byte)'z') || (b >= (byte)'A' && b <= (byte)'Z') || (b >= (byte)'0' && b <= (byte)'9')
        || b is (byte)'!' or (byte)'#' or (byte)'$' or (byte)'%' or (byte)'&' or (byte)'\'' or (byte)'*' or (byte)'+'
            or (byte)'-' or (byte)'.' or (byte)'^' or (byte)'_' or (byte)'`' or (byte)'|' or (byte)'~';

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    public static void Reject(int status, string reason) => throw new BadRequestException(status, reason);
}
