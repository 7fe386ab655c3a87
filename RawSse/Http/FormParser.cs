using System.Text;

namespace RawSse.Http;

/// <summary>
/// <c>application/x-www-form-urlencoded</c> parsing as the WHATWG URL standard defines it (§5.1), which is what browsers,
/// curl, Go, PHP, ASP.NET and Mercure send and accept: fields split on '&amp;', name and value on the first '=', '+' is a
/// space, <c>%XX</c> is decoded, and every other byte (raw spaces and raw UTF-8 included, and a '%' that starts no
/// escape) is kept as it is. The decoded bytes must then be UTF-8: where the standard would put U+FFFD, this refuses
/// the field, and says which one.
/// </summary>
internal static class FormParser
{
    private static readonly UTF8Encoding s_strictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Parses <paramref name="input"/> into name/value pairs in order. False, with the problem, when a field is not UTF-8.</summary>
    public static bool TryParse(ReadOnlySpan<byte> input, List<KeyValuePair<string, string>> fields, out string? problem)
    {
        problem = null;
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
            if (!TryDecode(name, out var decodedName))
            {
                problem = $"field {fields.Count + 1}: its name is not UTF-8 once decoded";
                return false;
            }

            if (!TryDecode(value, out var decodedValue))
            {
                problem = $"field '{decodedName}': its value is not UTF-8 once decoded";
                return false;
            }

            fields.Add(new(decodedName, decodedValue));
        }

        return true;
    }

    /// <summary>Parses a query string (ASCII by the request parser's guarantee).</summary>
    public static bool TryParse(string query, List<KeyValuePair<string, string>> fields) =>
        TryParse(Encoding.ASCII.GetBytes(query), fields, out _);

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
            else if (b == (byte)'%' && i + 2 < encoded.Length && IsHex(encoded[i + 1]) && IsHex(encoded[i + 2]))
            {
                bytes[length++] = (byte)((HexValue(encoded[i + 1]) << 4) | HexValue(encoded[i + 2]));
                i += 2;
            }
            else
            {
                bytes[length++] = b;
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
