using System.Buffers;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace RawSse.Auth;

/// <summary>
/// Turns an RFC 6570 URI Template into the states <see cref="UriTemplatePattern"/> runs, or refuses it (see that
/// class for what is matched and what is refused). The first pass checks the template from its start; the second
/// writes the states from its end, so that each state is written after the ones it leads to and knows their indices.
/// Only a repetition's way back to its start is patched afterwards.
/// </summary>
internal sealed class UriTemplateCompiler
{
    private const short None = -1;

    // RFC 6570 §2.1 literals: the ASCII ones (ucschar and iprivate are checked apart), "%" only as pct-encoded.
    private static readonly SearchValues<char> s_asciiLiterals = SearchValues.Create(
        "!#$&()*+,-./0123456789:;=?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]_abcdefghijklmnopqrstuvwxyz~");

    private readonly List<UriTemplateState> _states = [];
    private bool _tooLarge;

    private UriTemplateCompiler()
    {
    }

    /// <summary>
    /// The states matching the expansions of <paramref name="template"/>, the first (index 0) the match and
    /// <paramref name="start"/> the one to begin at; false when the text is not a template, or would need more than
    /// <see cref="UriTemplatePattern.MaxStates"/> states.
    /// </summary>
    public static bool TryCompile(string template, [NotNullWhen(true)] out UriTemplateState[]? states, out int start)
    {
        ArgumentNullException.ThrowIfNull(template);
        states = null;
        start = None;
        if (!IsTemplate(template))
        {
            return false;
        }

        var compiler = new UriTemplateCompiler();
        start = compiler.EmitTemplate(template);
        if (compiler._tooLarge)
        {
            start = None;
            return false;
        }

        states = [.. compiler._states];
        return true;
    }

    // The first pass: §2.1 literals and §2.2 expressions, at least one, within the limits.
    private static bool IsTemplate(string template)
    {
        int expressions = 0, variables = 0;
        for (int i = 0; i < template.Length;)
        {
            char c = template[i];
            if (c == '{')
            {
                int close = template.IndexOf('}', i + 1);
                if (close < 0 || ++expressions > UriTemplatePattern.MaxExpressions
                    || !IsExpression(template.AsSpan(i + 1, close - i - 1), ref variables))
                {
                    return false;
                }

                i = close + 1;
            }
            else if (c == '%')
            {
                // §2.1: "%" in a literal only as pct-encoded, copied as it is (§3.1).
                if (!IsPctEncoded(template, i))
                {
                    return false;
                }

                i += 3;
            }
            else
            {
                if (!TryReadLiteral(template, i, out int length))
                {
                    return false;
                }

                i += length;
            }
        }

        return expressions > 0;
    }

    // §2.2 expression = "{" [ operator ] variable-list "}", the braces already taken off.
    private static bool IsExpression(ReadOnlySpan<char> body, ref int variables)
    {
        if (!UriTemplateOperator.TryRead(body, out _, out var list))
        {
            return false;
        }

        foreach (var range in list.Split(','))
        {
            if (++variables > UriTemplatePattern.MaxVariables || !TryParseVarspec(list[range], out _, out _, out _))
            {
                return false;
            }
        }

        return true;
    }

    // The second pass, from the end. A checked template has no "{" inside an expression and no "}" in a literal, so
    // each "}" closes the expression that the "{" before it opens, and every other unit is a literal (a literal
    // triplet is matched as its three characters, as written).
    private int EmitTemplate(string template)
    {
        int next = Add(new UriTemplateState(UriTemplateStateKind.Match, UnitClasses.None, '\0', None, None));
        Debug.Assert(next == 0, "the match is state 0");
        for (int end = template.Length; end > 0;)
        {
            if (template[end - 1] == '}')
            {
                int open = template.LastIndexOf('{', end - 1);
                next = EmitExpression(template.AsSpan(open + 1, end - open - 2), next);
                end = open;
            }
            else
            {
                end--;
                next = Literal(template[end], next);
            }
        }

        return next;
    }

    // Every expansion of the expression (Appendix A), nothing at all included, then next.
    private int EmitExpression(ReadOnlySpan<char> body, int next)
    {
        bool read = UriTemplateOperator.TryRead(body, out var op, out var list);
        Debug.Assert(read, "checked by the first pass");
        Span<Range> specs = stackalloc Range[UriTemplatePattern.MaxVariables];
        int count = list.Split(specs, ',');
        if (op.First == op.Separator)
        {
            // Every defined variable is preceded by the same string, so each is simply optional.
            for (int m = count - 1; m >= 0; m--)
            {
                next = Split(Literal(op.Separator, EmitVariable(list[specs[m]], op, next)), next);
            }

            return next;
        }

        // The defined variables, at least one, in template order, joined by the separator, after "first": two tracks
        // of states, one before any variable is written (no separator yet) and one after. The second has each
        // variable once more, so the states stay linear in the number of variables.
        int afterSome = next;
        int beforeAny = None;
        for (int m = count - 1; m >= 0; m--)
        {
            var spec = list[specs[m]];
            int written = EmitVariable(spec, op, afterSome);
            int newBeforeAny = beforeAny == None ? written : Split(written, beforeAny);
            if (m > 0)
            {
                afterSome = Split(Literal(op.Separator, EmitVariable(spec, op, afterSome)), afterSome);
            }

            beforeAny = newBeforeAny;
        }

        return Split(op.First == '\0' ? beforeAny : Literal(op.First, beforeAny), next);
    }

    // The expansions of one defined variable: a string, a list or a map (§2.3), under its modifier (§2.4).
    private int EmitVariable(ReadOnlySpan<char> spec, UriTemplateOperator op, int next)
    {
        bool parsed = TryParseVarspec(spec, out var name, out bool explode, out bool prefix);
        Debug.Assert(parsed, "checked by the first pass");
        if (!op.Named)
        {
            if (prefix || op.Reserved)
            {
                // §2.4.1: a prefix applies to a string only. With reserved characters allowed, "," and "=" are value
                // characters, so the list and map forms are among the strings already.
                return Loop(op.Reserved ? UnitClasses.Unreserved | UnitClasses.Reserved : UnitClasses.Unreserved, next);
            }

            if (!explode)
            {
                // Not exploded, a list's members or a map's keys and values are joined by "," (§3.2.1).
                return Loop(UnitClasses.Unreserved | UnitClasses.Extra, ',', next);
            }

            // §2.4.2, exploded: the members joined by the separator, or the pairs key=value joined by it.
            int list = Loop(UnitClasses.Unreserved | UnitClasses.Extra, op.Separator, next);
            return Split(list, Repeated(op.Separator, valueMayBeAbsent: false, next));
        }

        if (explode)
        {
            // Every member as name=member, or every map pair as key=value (the name is among the keys); an empty
            // value written as "ifemp".
            return Repeated(op.Separator, valueMayBeAbsent: !op.EmptyIsEquals, next);
        }

        if (op.EmptyIsEquals)
        {
            return Name(name, Literal('=', prefix ? Loop(UnitClasses.Unreserved, next) : JoinedValue(next)));
        }

        // ";" writes the bare name for an empty string; a list or map always has "name=" (Appendix A), even when
        // its members are empty.
        int assigned = Literal('=', prefix ? Unit(UnitClasses.Unreserved, Loop(UnitClasses.Unreserved, next)) : JoinedValue(next));
        return Name(name, Split(assigned, next));
    }

    // A list's members or a map's keys and values, not exploded: unreserved units and ",".
    private int JoinedValue(int next) => Loop(UnitClasses.Unreserved | UnitClasses.Extra, ',', next);

    // pair *( separator pair ): the first pair's states, with a way back from its end to the separator.
    private int Repeated(char separator, bool valueMayBeAbsent, int next)
    {
        int again = Add(new UriTemplateState(UriTemplateStateKind.Split, UnitClasses.None, '\0', None, (short)next));
        int entry = Pair(valueMayBeAbsent, again);
        if (!_tooLarge)
        {
            _states[again] = _states[again] with { Next = (short)Literal(separator, entry) };
        }

        return entry;
    }

    // key "=" value, or with valueMayBeAbsent key [ "=" 1*unit ] (";" writes a bare name for an empty value).
    private int Pair(bool valueMayBeAbsent, int next)
    {
        var unit = UnitClasses.Unreserved;
        return valueMayBeAbsent
            ? Loop(unit, Split(Literal('=', Unit(unit, Loop(unit, next))), next))
            : Loop(unit, Literal('=', Loop(unit, next)));
    }

    // A variable's name, written as it is in the template.
    private int Name(ReadOnlySpan<char> name, int next)
    {
        for (int i = name.Length - 1; i >= 0; i--)
        {
            next = Literal(name[i], next);
        }

        return next;
    }

    private int Literal(char c, int next) =>
        Add(new UriTemplateState(UriTemplateStateKind.Literal, UnitClasses.None, c, (short)next, None));

    private int Unit(UnitClasses classes, int next) =>
        Add(new UriTemplateState(UriTemplateStateKind.Unit, classes, '\0', (short)next, None));

    private int Loop(UnitClasses classes, int next) => Loop(classes, '\0', next);

    private int Loop(UnitClasses classes, char extra, int next) =>
        Add(new UriTemplateState(UriTemplateStateKind.Loop, classes, extra, (short)_states.Count, (short)next));

    private int Split(int first, int second) =>
        Add(new UriTemplateState(UriTemplateStateKind.Split, UnitClasses.None, '\0', (short)first, (short)second));

    // Past the limit the states stop being written (the indices would not fit), and the template is refused.
    private int Add(UriTemplateState state)
    {
        if (_states.Count >= UriTemplatePattern.MaxStates)
        {
            _tooLarge = true;
            return 0;
        }

        _states.Add(state);
        return _states.Count - 1;
    }

    // §2.1 pct-encoded = "%" HEXDIG HEXDIG.
    private static bool IsPctEncoded(ReadOnlySpan<char> text, int i) =>
        i + 2 < text.Length && char.IsAsciiHexDigit(text[i + 1]) && char.IsAsciiHexDigit(text[i + 2]);

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
                if (!IsPctEncoded(name, i))
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
}
