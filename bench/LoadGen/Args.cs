using System.Globalization;

namespace LoadGen;

/// <summary>"--name value" pairs, flags ("--name" alone) and everything after "--" (a command to run).</summary>
internal sealed class Args
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);

    public Args(IEnumerable<string> args)
    {
        var list = args.ToList();
        for (int i = 0; i < list.Count; i++)
        {
            if (list[i] == "--")
            {
                Rest = list.GetRange(i + 1, list.Count - i - 1);
                break;
            }

            if (!list[i].StartsWith("--", StringComparison.Ordinal))
            {
                throw new ArgumentException($"unexpected argument '{list[i]}'");
            }

            bool hasValue = i + 1 < list.Count && !list[i + 1].StartsWith("--", StringComparison.Ordinal);
            _values[list[i]] = hasValue ? list[++i] : "true";
        }
    }

    public IReadOnlyList<string> Rest { get; } = [];

    public string Get(string name, string fallback)
    {
        _used.Add(name);
        return _values.TryGetValue(name, out var v) ? v : fallback;
    }

    public string? GetOrNull(string name)
    {
        _used.Add(name);
        return _values.GetValueOrDefault(name);
    }

    public int GetInt(string name, int fallback) => int.Parse(Get(name, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);

    public double GetDouble(string name, double fallback) => double.Parse(Get(name, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);

    public bool Flag(string name) => Get(name, "false") == "true";

    public double[] GetList(string name, string fallback) =>
        [.. Get(name, fallback).Split(',', StringSplitOptions.RemoveEmptyEntries).Select(v => double.Parse(v, CultureInfo.InvariantCulture))];

    /// <summary>Throws on any option that no mode asked for, so a typo is not silently ignored.</summary>
    public void RejectUnknown()
    {
        var unknown = _values.Keys.Where(k => !_used.Contains(k)).ToList();
        if (unknown.Count > 0)
        {
            throw new ArgumentException($"unknown option(s): {string.Join(", ", unknown)}");
        }
    }
}
