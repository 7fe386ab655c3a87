using System.Text;
using System.Text.Unicode;

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

    /// <summary>Decodes one name or value; false when the decoded bytes are not UTF-8.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> encoded, out string decoded)
    {
        decoded = "";
        if (encoded.IsEmpty)
        {
            return true;
        }

        var bytes = encoded.Length <= 512 ? stackalloc byte[encoded.Length] : new byte[encoded.Length];
        int length = DecodeInto(encoded, bytes);
        if (!Utf8.IsValid(bytes[..length]))
        {
            return false;
        }

        decoded = Encoding.UTF8.GetString(bytes[..length]);
        return true;
    }

    /// <summary>Decodes <paramref name="encoded"/> into <paramref name="into"/> (at least as long); returns the decoded length.</summary>
    public static int DecodeInto(ReadOnlySpan<byte> encoded, Span<byte> into)
    {
        int length = 0;
        for (int i = 0; i < encoded.Length; i++)
        {
            byte b = encoded[i];
            if (b == (byte)'+')
            {
                b = (byte)' ';
            }
            else if (b == (byte)'%' && i + 2 < encoded.Length && IsHex(encoded[i + 1]) && IsHex(encoded[i + 2]))
            {
                b = (byte)((HexValue(encoded[i + 1]) << 4) | HexValue(encoded[i + 2]));
                i += 2;
            }

            into[length++] = b;
        }

        return length;
    }

    public static bool IsHex(byte b) => char.IsAsciiHexDigit((char)b);

    public static int HexValue(byte b) => b <= (byte)'9' ? b - '0' : (b | 0x20) - 'a' + 10;
}
