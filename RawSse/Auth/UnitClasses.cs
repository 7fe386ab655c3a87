namespace RawSse.Auth;

/// <summary>The characters a value unit of a <see cref="UriTemplateState"/> may be, besides a pct-encoded triplet.</summary>
[Flags]
internal enum UnitClasses : byte
{
    None = 0,

    /// <summary>RFC 3986 §2.3: ALPHA / DIGIT / "-" / "." / "_" / "~".</summary>
    Unreserved = 1,

    /// <summary>RFC 3986 §2.2: gen-delims / sub-delims, which "+" and "#" pass through (RFC 6570 §3.2.3).</summary>
    Reserved = 2,

    /// <summary>The state's own character too: the "," of a joined list, or the separator of an exploded one.</summary>
    Extra = 4,
}
