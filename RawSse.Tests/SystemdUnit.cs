namespace RawSse.Tests;

/// <summary>
/// A systemd unit file read as systemd reads it (systemd.syntax(7)): [Section] headers, <c>Key=value</c> lines,
/// <c>#</c> and <c>;</c> comments, a directive that may be given more than once. No line continuations: the unit
/// under test has none, and one would show up as an unparsed line.
/// </summary>
internal sealed class SystemdUnit
{
    private readonly List<(string Section, string Key, string Value)> _directives = [];
    private readonly List<string> _unparsed = [];

    private SystemdUnit()
    {
    }

    /// <summary>Lines that are neither blank, a comment, a section nor a directive.</summary>
    public IReadOnlyList<string> Unparsed => _unparsed;

    public static SystemdUnit Parse(string text)
    {
        var unit = new SystemdUnit();
        string section = "";
        foreach (var raw in text.Split('\n'))
        {
            string line = raw.Trim();
            if (line.Length == 0 || line[0] is '#' or ';')
            {
                continue;
            }

            if (line[0] == '[' && line[^1] == ']')
            {
                section = line[1..^1];
                continue;
            }

            int equals = line.IndexOf('=');
            if (equals <= 0 || section.Length == 0 || line.EndsWith('\\'))
            {
                unit._unparsed.Add(line);
                continue;
            }

            unit._directives.Add((section, line[..equals].Trim(), line[(equals + 1)..].Trim()));
        }

        return unit;
    }

    /// <summary>Every value of <paramref name="key"/> in <paramref name="section"/>, in order.</summary>
    public IReadOnlyList<string> Values(string section, string key) =>
        [.. _directives.Where(d => d.Section == section && d.Key == key).Select(d => d.Value)];

    /// <summary>The value that takes effect (the last one), or null.</summary>
    public string? Value(string section, string key) => Values(section, key) is [.., var last] ? last : null;
}
