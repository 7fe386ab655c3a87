namespace RawSse.Auth;

/// <summary>
/// One state of the automaton <see cref="UriTemplatePattern"/> runs: eight bytes, so a compiled template keeps about
/// eight bytes per literal character and a few dozen per variable.
/// </summary>
/// <param name="Kind">What the state consumes, and which moves it has.</param>
/// <param name="Classes">For <see cref="UriTemplateStateKind.Unit"/> and <see cref="UriTemplateStateKind.Loop"/>: what a unit may be.</param>
/// <param name="Char">The character a literal consumes, or the <see cref="UnitClasses.Extra"/> one a unit may be.</param>
/// <param name="Next">Where consuming leads (a loop's own index); a split's first empty move.</param>
/// <param name="Alt">A split's second empty move and a loop's way out; -1 for the other kinds.</param>
internal readonly record struct UriTemplateState(UriTemplateStateKind Kind, UnitClasses Classes, char Char, short Next, short Alt);
