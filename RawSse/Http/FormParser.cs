using System.Text;

namespace RawSse.Http;

/// <summary>
/// Strict <c>application/x-www-form-urlencoded</c> parsing (WHATWG URL, "application/x-www-form-urlencoded
/// parsing"), for publish bodies and query strings. Unlike a lenient parser it refuses what it cannot decode
/// faithfully: a '%' not followed by two hex digits, a byte outside visible ASCII, or invalid UTF-8.
/// </summary>
internal static class FormParser
{
    private static readonly UTF8Encoding s_strictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Parses <paramref name="input"/> into name/value pairs in order. False when it is malformed.</summary>
    public static bool TryParse(ReadOnlySpan<byte> input, List<KeyValuePair<string, string>> fields)
    {
        foreach (var range in input.Split((byte)'&'))
        {
            var pair = input[range];
            if (pair.IsEmpty)
            {
                continue;
            }

            int eq = pair.IndexOf((byte)'=');
            var name = eq < 0 ? pair : pair[..eq];
            var value = eq < 0 ? [] : pair[(eq + 1)..];
            if (!TryDecode(name, out var decodedName) || !TryDecode(value, out var decodedValue))
            {
                return false;
            }

            fields.Add(new(decodedName, decodedValue));
        }

        return true;
    }

    /// <summary>Parses a query string (ASCII by the parser's guarantee).</summary>
    public static bool TryParse(string query, List<KeyValuePair<string, string>> fields) =>
        TryParse(Encoding.ASCII.GetBytes(query), fields);

    private static bool TryDecode(ReadOnlySpan<byte> encoded, out string decoded)
    {
        decoded = "";
        if (encoded.IsEmpty)
        {
            return true;
        }

        var bytes = encoded.Length <= 512 ? stackalloc byte[encoded.Length] : new byte[encoded.Length];
        int length = 0;
        for (int i = 0; i < encoded.Length; i++)
        {
            byte b = encoded[i];
            if (b == (byte)'+')
            {
                bytes[length++] = (byte)' ';
            }
            else if (b == (byte)'%')
            {
                if (i + 2 >= encoded.Length || !IsHex(encoded[i + 1]) || !IsHex(encoded[i + 2]))
                {
                    return false;
                }

                bytes[length++] = (byte)((HexValue(encoded[i + 1]) << 4) | HexValue(encoded[i + 2]));
                i += 2;
            }
            else if (b is > 0x20 and < 0x7F)
            {
                bytes[length++] = b;
            }
            else
            {
                return false;
            }
        }

        try
        {
            decoded = s_strictUtf8.GetString(bytes[..length]);
            return true;
        }
        catch (DecoderFallbackException)
        {
            return false;
        }
    }

    private static bool IsHex(byte b) => char.IsAsciiHexDigit((char)b);

    private static int HexValue(byte b) => b <= (byte)'9' ? b - '0' : (b | 0x20) - 'a' + 10;
}
