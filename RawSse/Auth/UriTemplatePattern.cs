using System.Buffers;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Text;
using System.Text.RegularExpressions;
using RawSse.Sse;

namespace RawSse.Auth;

/// <summary>
/// Turns an RFC 6570 URI Template (all of level 4) into a fully anchored <see cref="Regex"/> that matches exactly the
/// strings some assignment of the template's variables expands to: the question Mercure asks of a topic selector.
/// The matching runs with <see cref="RegexOptions.NonBacktracking"/>, in time linear in the topic whatever the
/// template.
/// <para>
/// What is matched. RFC 6570 §3.1: a literal is copied to the result. §3.2.1: "A variable that is undefined has no
/// value and is ignored" and an empty list or map is undefined (§2.3), so any variable may be absent, and an
/// expression whose variables are all absent expands to nothing; the others are joined in template order with the
/// operator's "first" and "sep" strings (Appendix A's table: none "" ",", <c>+</c> "" ",", <c>#</c> "#" ",",
/// <c>.</c> "." ".", <c>/</c> "/" "/", <c>;</c> ";" ";", <c>?</c> "?" "&amp;", <c>&amp;</c> "&amp;" "&amp;"). A
/// variable may hold a string, a list or an associative array (§2.3), so each variable matches the union of the
/// three expansions: for <c>{x}</c> a string or a comma-joined list or map (<c>a</c>, <c>a,b</c>); for <c>{x*}</c>
/// (§2.4.2) the members joined by the operator's separator, or the map's <c>key=value</c> pairs; for the named
/// operators <c>;</c> <c>?</c> <c>&amp;</c> the <c>name=</c> forms, with ";" writing a bare <c>name</c> for an empty
/// value and "?" "&amp;" writing <c>name=</c> (the "ifemp" column). An empty string value is defined, so
/// <c>books/{id}</c> matches <c>books/</c>, as yosida95/uritemplate (Mercure's library) expands it. A value is made of
/// §1.5 unreserved characters and pct-encoded triplets, and for <c>+</c> and <c>#</c> reserved characters too
/// (§3.2.3: "reserved ... and pct-encoded triplets" pass through); either case of hex digit is accepted.
/// </para>
/// <para>
/// Where this is looser than a full expansion, on purpose. (1) Each occurrence of a variable is matched on its own:
/// <c>{x}/{x}</c> matches <c>a/b</c>, as "the same value twice" is not a regular language. (2) A prefix <c>:n</c>
/// (§2.4.1) is checked for syntax (1 to 9999) and limits the variable to a string, but its length is not enforced: a
/// counted repetition makes NonBacktracking's automaton grow with the count (16 adjacent <c>{0,9}</c> groups took
/// 257 MB and 370 ms for one match), and Mercure's own matcher (yosida95's <c>Regexp()</c>) ignores it as well.
/// (3) Pct-encoded octets are not checked to form UTF-8. Where it is stricter than Mercure's regexp: names of the
/// named operators are checked (<c>{?x,y}</c> matches <c>?x=1&amp;y=2</c>, not <c>?y=2&amp;x=1</c> or <c>?z=1</c>).
/// A literal outside the URI character set (§2.1 ucschar, iprivate) is matched as written, as Mercure does, not in
/// the pct-encoded form of §3.1.
/// </para>
/// <para>
/// What is refused (the caller then treats the text as an exact topic): §2.1 literal characters outside the
/// grammar (space, <c>"</c> <c>'</c> <c>&lt;</c> <c>&gt;</c> <c>\</c> <c>^</c> <c>`</c> <c>|</c>, a stray
/// <c>}</c> or <c>%</c>, a lone surrogate), an unclosed <c>{</c>, the §2.2 reserved operators <c>= , ! @ |</c>, a
/// §2.3 varname that is not <c>varchar *( ["."] varchar )</c>, a prefix outside 1..9999, both modifiers on one
/// variable, no expression at all, and more than <see cref="MaxExpressions"/> expressions or
/// <see cref="MaxVariables"/> variables (each adds states to the automaton).
/// </para>
/// <para>
/// How. The regex does not see the topic's characters but a small alphabet they are encoded into (see
/// <see cref="IsMatch"/>): each UTF-16 unit becomes a tag naming its class (hex digit, other unreserved, reserved,
/// <c>%</c>, other ASCII, non-ASCII) and then its value in base-4 digits (none for <c>%</c>, 4 for the rest of ASCII,
/// 8 beyond), and literals are written in the same code, so they need no escaping. Every construct consumes whole
/// units, so the match stays aligned. NonBacktracking builds one minterm per distinct character set and keeps the
/// work of building them: over raw characters a template's memory grows with the square of its distinct literal
/// characters (measured on .NET 10: 1.3 MB kept for a typical URL template, 19 MB for 85 distinct ASCII literals,
/// 88 MB and 280 ms to build for 240 CJK ones), while the encoded alphabet has eleven symbols whatever the template
/// (0.4 MB kept for the typical one and 1.2 MB for 253 CJK literals, under 10 ms). The match is anchored by a
/// sentinel symbol the encoded topic has at both ends and nowhere else, rather than by <c>\A</c> and <c>\z</c>,
/// which make NonBacktracking's automaton five times larger (it tracks the previous character's kind for them) and
/// put a 256-character template over its 10,000-node limit. Matching builds the lazy DFA as it goes, so a compiled
/// template grows with the variety of topics it meets, up to the engine's own bound (measured: +8 MB after 50,000
/// random topics against sixteen adjacent expressions, +0.1 MB after 1,000 ordinary ones).
/// </para>
/// </summary>
internal static class UriTemplatePattern
{
    /// <summary>The most expressions a template may have.</summary>
    public const int MaxExpressions = 16;

    /// <summary>The most variables a template may name in all its expressions.</summary>
    public const int MaxVariables = 32;

    // Tags of the encoded alphabet; one per class a value's character is tested against.
    private const char TagHexDigit = 'H';
    private const char TagUnreserved = 'U';
    private const char TagReserved = 'R';
    private const char TagPercent = 'P';
    private const char TagOtherAscii = 'O';
    private const char TagNonAscii = 'N';

    // Stands before and after an encoded topic, and nowhere else.
    private const char Sentinel = 'S';

    private const int AsciiDigits = 4;
    private const int NonAsciiDigits = 8;
    private const int MaxUnitLength = 1 + NonAsciiDigits;
    private const int StackEncodingLimit = (Hub.MaxTopicLength * MaxUnitLength) + 2;

    private const RegexOptions Options = RegexOptions.NonBacktracking | RegexOptions.CultureInvariant;

    // RFC 3986 §2.2 reserved = gen-delims / sub-delims.
    private static readonly SearchValues<char> s_reserved = SearchValues.Create(":/?#[]@!$&'()*+,;=");

    // RFC 6570 §2.1 literals: the ASCII ones (ucschar and iprivate are checked apart), "%" only as pct-encoded.
    private static readonly SearchValues<char> s_asciiLiterals = SearchValues.Create(
        "!#$&()*+,-./0123456789:;=?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]_abcdefghijklmnopqrstuvwxyz~");

    // One encoded ASCII unit's digits; a pct-encoded triplet ("%" HEXDIG HEXDIG, and "%" has no digits); a value
    // character of the unreserved class (§1.5) and of the unreserved-or-reserved class (§3.2.3), each a character or
    // a triplet.
    private static readonly string s_digits = $"[0-3]{{{AsciiDigits}}}";
    private static readonly string s_triplet = $"{TagPercent}{TagHexDigit}{s_digits}{TagHexDigit}{s_digits}";
    private static readonly string s_unreserved = $"(?:[{TagHexDigit}{TagUnreserved}]{s_digits}|{s_triplet})";
    private static readonly string s_unreservedOrReserved = $"(?:[{TagHexDigit}{TagUnreserved}{TagReserved}]{s_digits}|{s_triplet})";
    private static readonly string s_comma = Literal(",");
    private static readonly string s_equals = Literal("=");

    /// <summary>
    /// Compiles <paramref name="template"/>. False when it is not a URI Template (see the class comment); the regex
    /// then is null. The regex matches encoded topics: call it through <see cref="IsMatch"/>.
    /// </summary>
    public static bool TryCompile(string template, [NotNullWhen(true)] out Regex? regex)
    {
        ArgumentNullException.ThrowIfNull(template);
        regex = null;
        var pattern = new StringBuilder().Append(Sentinel);
        int expressions = 0, variables = 0;
        for (int i = 0; i < template.Length;)
        {
            char c = template[i];
            if (c == '{')
            {
                int close = template.IndexOf('}', i + 1);
                if (close < 0 || ++expressions > MaxExpressions
                    || !TryAppendExpression(template.AsSpan(i + 1, close - i - 1), pattern, ref variables))
                {
                    return false;
                }

                i = close + 1;
            }
            else if (c == '%')
            {
                // §2.1: "%" in a literal only as pct-encoded, copied as it is (§3.1).
                if (i + 2 >= template.Length || !char.IsAsciiHexDigit(template[i + 1]) || !char.IsAsciiHexDigit(template[i + 2]))
                {
                    return false;
                }

                pattern.Append(Literal(template.AsSpan(i, 3)));
                i += 3;
            }
            else
            {
                if (!TryReadLiteral(template, i, out int length))
                {
                    return false;
                }

                pattern.Append(Literal(template.AsSpan(i, length)));
                i += length;
            }
        }

        if (expressions == 0)
        {
            return false;
        }

        pattern.Append(Sentinel);
        try
        {
            regex = new Regex(pattern.ToString(), Options);
        }
        catch (NotSupportedException)
        {
            // NonBacktracking refuses an automaton over its size limit. The bounds above keep a template as long as
            // a topic well under it (tested); a longer one is an exact topic.
            return false;
        }

        return true;
    }

    /// <summary>Whether <paramref name="topic"/> matches a regex made by <see cref="TryCompile"/>.</summary>
    public static bool IsMatch(Regex regex, ReadOnlySpan<char> topic)
    {
        ArgumentNullException.ThrowIfNull(regex);
        int length = 2;
        foreach (char c in topic)
        {
            length += UnitLength(c);
        }

        char[]? rented = null;
        Span<char> encoded = length <= StackEncodingLimit
            ? stackalloc char[StackEncodingLimit]
            : (rented = ArrayPool<char>.Shared.Rent(length));
        try
        {
            int written = 0;
            encoded[written++] = Sentinel;
            foreach (char c in topic)
            {
                written += Encode(c, encoded[written..]);
            }

            encoded[written++] = Sentinel;
            Debug.Assert(written == length);
            return regex.IsMatch(encoded[..written]);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<char>.Shared.Return(rented);
            }
        }
    }

    // §2.2 expression = "{" [ operator ] variable-list "}", the braces already taken off. Appends the regex of
    // every expansion the expression has (Appendix A), nothing at all included.
    private static bool TryAppendExpression(ReadOnlySpan<char> body, StringBuilder pattern, ref int variables)
    {
        char op = body.IsEmpty ? '\0' : body[0];
        (string first, string sep, bool named, bool emptyIsEquals, bool reserved) = op switch
        {
            '+' => ("", ",", false, false, true),
            '#' => ("#", ",", false, false, true),
            '.' => (".", ".", false, false, false),
            '/' => ("/", "/", false, false, false),
            ';' => (";", ";", true, false, false),
            '?' => ("?", "&", true, true, false),
            '&' => ("&", "&", true, true, false),
            _ => ("", ",", false, false, false),
        };
        if (op is '+' or '#' or '.' or '/' or ';' or '?' or '&')
        {
            body = body[1..];
        }
        else if (op is '=' or ',' or '!' or '@' or '|')
        {
            return false; // §2.2 op-reserve: "reserved for future extensions"
        }

        string firstPattern = Literal(first), sepPattern = Literal(sep);
        var members = new List<string>();
        foreach (var range in body.Split(','))
        {
            if (++variables > MaxVariables || !TryParseVarspec(body[range], out var name, out bool explode, out bool prefix))
            {
                return false;
            }

            members.Add(Member(name, explode, prefix, sepPattern, named, emptyIsEquals, reserved));
        }

        if (first == sep)
        {
            // Every defined variable is preceded by the same string, so each is simply optional.
            foreach (var member in members)
            {
                pattern.Append("(?:").Append(sepPattern).Append(member).Append(")?");
            }

            return true;
        }

        // Defined variables joined by sep, at least one: J(1) = m1, J(i) = J(i-1) (sep mi)? | mi. Each member is
        // written twice, so the pattern stays linear in the number of variables.
        string joined = members[0];
        for (int m = 1; m < members.Count; m++)
        {
            joined = $"(?:{joined}(?:{sepPattern}{members[m]})?|{members[m]})";
        }

        pattern.Append("(?:").Append(firstPattern).Append(joined).Append(")?");
        return true;
    }

    // The expansions of one defined variable: a string, a list or a map (§2.3), under its modifier (§2.4).
    private static string Member(ReadOnlySpan<char> name, bool explode, bool prefix, string sep, bool named, bool emptyIsEquals, bool reserved)
    {
        string unit = reserved ? s_unreservedOrReserved : s_unreserved;
        string value = $"{unit}*";
        // Not exploded, a list's members or a map's keys and values are joined by "," whatever the operator (§3.2.1).
        string joinedValue = reserved ? value : $"(?:{unit}|{s_comma})*";
        if (!named)
        {
            if (prefix || reserved)
            {
                // §2.4.1: a prefix applies to a string only. With reserved characters allowed, "," and "=" are value
                // characters, so the list and map forms are among the strings already.
                return value;
            }

            if (!explode)
            {
                return joinedValue;
            }

            // §2.4.2, exploded: the members joined by sep, or the pairs key=value joined by sep.
            string pair = $"{value}{s_equals}{value}";
            return $"(?:(?:{unit}|{sep})*|{pair}(?:{sep}{pair})*)";
        }

        string literalName = Literal(name);
        string nonEmptyValue = $"{unit}+";
        if (explode)
        {
            // Every member as name=member, or every map pair as key=value; an empty value written as "ifemp".
            string item = emptyIsEquals ? $"{value}{s_equals}{value}" : $"{value}(?:{s_equals}{nonEmptyValue})?";
            return $"{item}(?:{sep}{item})*";
        }

        if (emptyIsEquals)
        {
            return $"{literalName}{s_equals}{(prefix ? value : joinedValue)}";
        }

        // ";" writes the bare name for an empty string; a list or map always has "name=" (Appendix A), even when
        // its members are empty.
        return $"{literalName}(?:{s_equals}{(prefix ? nonEmptyValue : joinedValue)})?";
    }

    // §2.3 varspec = varname [ modifier-level4 ]; varname = varchar *( ["."] varchar );
    // varchar = ALPHA / DIGIT / "_" / pct-encoded. §2.4: prefix = ":" max-length (%x31-39 0*3DIGIT); explode = "*".
    private static bool TryParseVarspec(ReadOnlySpan<char> spec, out ReadOnlySpan<char> name, out bool explode, out bool prefix)
    {
        explode = false;
        prefix = false;
        int end = spec.IndexOfAny(':', '*');
        name = end < 0 ? spec : spec[..end];
        if (end >= 0)
        {
            var modifier = spec[(end + 1)..];
            if (spec[end] == '*')
            {
                explode = true;
                if (!modifier.IsEmpty)
                {
                    return false;
                }
            }
            else
            {
                prefix = true;
                if (modifier.Length is < 1 or > 4 || modifier[0] is < '1' or > '9' || modifier.ContainsAnyExceptInRange('0', '9'))
                {
                    return false;
                }
            }
        }

        if (name.IsEmpty || name[0] == '.' || name[^1] == '.')
        {
            return false;
        }

        for (int i = 0; i < name.Length; i++)
        {
            char c = name[i];
            if (c == '%')
            {
                if (i + 2 >= name.Length || !char.IsAsciiHexDigit(name[i + 1]) || !char.IsAsciiHexDigit(name[i + 2]))
                {
                    return false;
                }

                i += 2;
            }
            else if (c == '.')
            {
                if (name[i + 1] == '.')
                {
                    return false;
                }
            }
            else if (!char.IsAsciiLetterOrDigit(c) && c != '_')
            {
                return false;
            }
        }

        return true;
    }

    // One §2.1 literal character (not "%", not "{") at template[i], as its UTF-16 units.
    private static bool TryReadLiteral(string template, int i, out int length)
    {
        char c = template[i];
        length = 1;
        if (c < 0x80)
        {
            return s_asciiLiterals.Contains(c);
        }

        if (!Rune.TryGetRuneAt(template, i, out var rune))
        {
            return false; // a lone surrogate is no character
        }

        length = rune.Utf16SequenceLength;
        int v = rune.Value;
        // ucschar = %xA0-D7FF / %xF900-FDCF / %xFDF0-FFEF / %x10000-1FFFD / ... / %xD0000-DFFFD / %xE1000-EFFFD;
        // iprivate = %xE000-F8FF / %xF0000-FFFFD / %x100000-10FFFD. Beyond the BMP: all but a plane's last two
        // code points, and plane 14 from E1000.
        return v switch
        {
            < 0xA0 => false,
            <= 0xD7FF => true,
            >= 0xE000 and <= 0xFDCF => true,
            >= 0xFDF0 and <= 0xFFEF => true,
            < 0x10000 => false,
            >= 0xE0000 and < 0xE1000 => false,
            _ => (v & 0xFFFF) <= 0xFFFD,
        };
    }

    // The encoded form of literal text: exactly its units, each tag and digits, which need no regex escaping.
    private static string Literal(ReadOnlySpan<char> text)
    {
        Span<char> unit = stackalloc char[MaxUnitLength];
        var encoded = new StringBuilder(text.Length * (1 + AsciiDigits));
        foreach (char c in text)
        {
            encoded.Append(unit[..Encode(c, unit)]);
        }

        return encoded.ToString();
    }

    private static int UnitLength(char c) => 1 + Digits(c);

    // The tag alone says "%", and it is in every pct-encoded triplet.
    private static int Digits(char c) => c == '%' ? 0 : c < 0x80 ? AsciiDigits : NonAsciiDigits;

    // One UTF-16 unit: its tag, then its value in base 4, most significant digit first.
    private static int Encode(char c, Span<char> destination)
    {
        int digits = Digits(c);
        destination[0] = c switch
        {
            _ when char.IsAsciiHexDigit(c) => TagHexDigit,
            _ when char.IsAsciiLetter(c) || c is '-' or '.' or '_' or '~' => TagUnreserved,
            _ when s_reserved.Contains(c) => TagReserved,
            '%' => TagPercent,
            < (char)0x80 => TagOtherAscii,
            _ => TagNonAscii,
        };
        for (int d = 0; d < digits; d++)
        {
            destination[1 + d] = (char)('0' + ((c >> (2 * (digits - 1 - d))) & 3));
        }

        return 1 + digits;
    }
}
