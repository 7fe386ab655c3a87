namespace RawSse.Auth;

/// <summary>
/// An expression's operator as RFC 6570 Appendix A tabulates it: the string before the first defined variable, the
/// one between the others, whether values are written <c>name=value</c>, whether an empty one is written
/// <c>name=</c> ("ifemp" "=") rather than the bare name, and whether reserved characters pass through ("allow" U+R).
/// </summary>
/// <param name="First">The "first" string, a single character, or '\0' for the empty string.</param>
internal readonly record struct UriTemplateOperator(char First, char Separator, bool Named, bool EmptyIsEquals, bool Reserved)
{
    /// <summary>Reads the §2.2 operator at the start of an expression's body, braces already taken off.</summary>
    /// <returns>False for the §2.2 op-reserve characters, "reserved for future extensions".</returns>
    public static bool TryRead(ReadOnlySpan<char> body, out UriTemplateOperator op, out ReadOnlySpan<char> variableList)
    {
        char c = body.IsEmpty ? '\0' : body[0];
        op = c switch
        {
            '+' => new('\0', ',', Named: false, EmptyIsEquals: false, Reserved: true),
            '#' => new('#', ',', Named: false, EmptyIsEquals: false, Reserved: true),
            '.' => new('.', '.', Named: false, EmptyIsEquals: false, Reserved: false),
            '/' => new('/', '/', Named: false, EmptyIsEquals: false, Reserved: false),
            ';' => new(';', ';', Named: true, EmptyIsEquals: false, Reserved: false),
            '?' => new('?', '&', Named: true, EmptyIsEquals: true, Reserved: false),
            '&' => new('&', '&', Named: true, EmptyIsEquals: true, Reserved: false),
            _ => new('\0', ',', Named: false, EmptyIsEquals: false, Reserved: false),
        };
        bool hasOperator = c is '+' or '#' or '.' or '/' or ';' or '?' or '&';
        variableList = hasOperator ? body[1..] : body;
        return c is not ('=' or ',' or '!' or '@' or '|');
    }
}
