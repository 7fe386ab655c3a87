namespace RawSse.Auth;

/// <summary>What one state of a compiled URI Template (<see cref="UriTemplateState"/>) does with the topic.</summary>
internal enum UriTemplateStateKind : byte
{
    /// <summary>The end of the template: the topic matches when it ends here.</summary>
    Match,

    /// <summary>Consumes the state's character, then goes to Next.</summary>
    Literal,

    /// <summary>Consumes one value unit (a character of the state's classes, or a pct-encoded triplet), then goes to Next.</summary>
    Unit,

    /// <summary>Consumes any number of value units (Next is the state itself), and may leave for Alt without consuming.</summary>
    Loop,

    /// <summary>Consumes nothing and goes to both Next and Alt.</summary>
    Split,
}
