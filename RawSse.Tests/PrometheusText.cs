using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace RawSse.Tests;

/// <summary>
/// A parser and checker of the Prometheus text exposition format 0.0.4, written from its description
/// (prometheus.io/docs/instrumenting/exposition_formats): every line is read, so a malformed one anywhere fails
/// the test, not only the metric a test looks for.
/// </summary>
internal sealed partial class PrometheusText
{
    private static readonly HashSet<string> s_types = ["counter", "gauge", "histogram", "summary", "untyped"];

    private readonly Dictionary<string, string> _types = [];
    private readonly Dictionary<string, string> _helps = [];
    private readonly List<PrometheusSample> _samples = [];
    private readonly List<string> _problems = [];

    private PrometheusText()
    {
    }

    public IReadOnlyDictionary<string, string> Types => _types;
    public IReadOnlyList<PrometheusSample> Samples => _samples;

    /// <summary>What is wrong with the text: a line that does not parse, a sample of no TYPE, a malformed histogram.</summary>
    public IReadOnlyList<string> Problems => _problems;

    public static PrometheusText Parse(string text)
    {
        var parsed = new PrometheusText();
        var lines = text.Split('\n');
        if (lines[^1].Length != 0)
        {
            parsed._problems.Add("the text does not end with a line feed");
        }

        for (int i = 0; i < lines.Length; i++)
        {
            if (lines[i].Length > 0)
            {
                parsed.ParseLine(lines[i], i + 1);
            }
        }

        parsed.CheckHistograms();
        return parsed;
    }

    /// <summary>The value of the one sample named <paramref name="name"/>; fails when there is none or several.</summary>
    public double Single(string name)
    {
        var found = _samples.Where(s => s.Name == name).ToList();
        Assert.That(found, Has.Count.EqualTo(1), $"samples named {name}");
        return found[0].Value;
    }

    private void ParseLine(string line, int number)
    {
        if (line.StartsWith('#'))
        {
            var comment = CommentLine().Match(line);
            if (!comment.Success)
            {
                return; // any other comment is allowed and means nothing
            }

            string keyword = comment.Groups[1].Value, name = comment.Groups[2].Value, rest = comment.Groups[3].Value;
            var into = keyword == "TYPE" ? _types : _helps;
            if (keyword == "TYPE" && !s_types.Contains(rest))
            {
                _problems.Add($"line {number}: unknown type '{rest}'");
            }

            if (keyword == "TYPE" && _samples.Any(s => FamilyOf(s.Name) == name))
            {
                _problems.Add($"line {number}: TYPE of {name} after its samples");
            }

            if (!into.TryAdd(name, rest))
            {
                _problems.Add($"line {number}: a second {keyword} for {name}");
            }

            return;
        }

        var sample = SampleLine().Match(line);
        if (!sample.Success)
        {
            _problems.Add($"line {number}: not a sample: {line}");
            return;
        }

        var labels = new List<KeyValuePair<string, string>>();
        if (sample.Groups[2].Success && !TryParseLabels(sample.Groups[2].Value, labels))
        {
            _problems.Add($"line {number}: malformed labels: {line}");
            return;
        }

        if (!TryParseValue(sample.Groups[3].Value, out double value))
        {
            _problems.Add($"line {number}: malformed value: {line}");
            return;
        }

        string metric = sample.Groups[1].Value;
        if (FamilyOf(metric) is null)
        {
            _problems.Add($"line {number}: {metric} has no TYPE before it");
        }

        _samples.Add(new PrometheusSample(metric, labels, value, number));
    }

    // The family a sample belongs to: its own name, or a histogram's or summary's with the suffix taken off.
    private string? FamilyOf(string metric)
    {
        if (_types.ContainsKey(metric))
        {
            return metric;
        }

        foreach (var suffix in (string[])["_bucket", "_sum", "_count"])
        {
            if (metric.EndsWith(suffix, StringComparison.Ordinal) && _types.TryGetValue(metric[..^suffix.Length], out var type)
                && (type == "histogram" || (type == "summary" && suffix != "_bucket")))
            {
                return metric[..^suffix.Length];
            }
        }

        return null;
    }

    // Each histogram series: buckets in increasing le, cumulative counts, +Inf last and equal to _count, and a _sum.
    private void CheckHistograms()
    {
        foreach (var (family, _) in _types.Where(t => t.Value == "histogram"))
        {
            var series = _samples.Where(s => s.Name == family + "_bucket")
                .GroupBy(s => string.Join(',', s.Labels.Where(l => l.Key != "le").Select(l => $"{l.Key}={l.Value}")));
            bool any = false;
            foreach (var buckets in series)
            {
                any = true;
                string where = $"{family}{{{buckets.Key}}}";
                double previousBound = double.NegativeInfinity, previousCount = 0;
                foreach (var bucket in buckets)
                {
                    if (bucket.Label("le") is not { } le || !TryParseValue(le, out double bound))
                    {
                        _problems.Add($"line {bucket.Line}: {where} bucket without a numeric le");
                        continue;
                    }

                    if (bound <= previousBound || bucket.Value < previousCount)
                    {
                        _problems.Add($"line {bucket.Line}: {where} le={le} is not after the previous bucket, or its count {bucket.Value} fell");
                    }

                    (previousBound, previousCount) = (bound, bucket.Value);
                }

                var labels = buckets.First().Labels.Where(l => l.Key != "le").ToList();
                var count = _samples.Where(s => s.Name == family + "_count" && s.Labels.SequenceEqual(labels)).ToList();
                var sum = _samples.Where(s => s.Name == family + "_sum" && s.Labels.SequenceEqual(labels)).ToList();
                if (!double.IsPositiveInfinity(previousBound))
                {
                    _problems.Add($"{where}: the last bucket is not le=\"+Inf\"");
                }

                if (count.Count != 1 || count[0].Value != previousCount)
                {
                    _problems.Add($"{where}: _count ({string.Join(',', count.Select(c => c.Value))}) is not the +Inf bucket's {previousCount}");
                }

                if (sum.Count != 1)
                {
                    _problems.Add($"{where}: {sum.Count} _sum samples");
                }
            }

            if (!any)
            {
                _problems.Add($"{family}: a histogram without buckets");
            }
        }
    }

    private static bool TryParseLabels(string text, List<KeyValuePair<string, string>> labels)
    {
        int i = 0;
        while (i < text.Length)
        {
            var name = LabelName().Match(text, i);
            if (!name.Success || name.Index != i)
            {
                return false;
            }

            i += name.Length;
            if (i + 1 >= text.Length || text[i] != '=' || text[i + 1] != '"')
            {
                return false;
            }

            i += 2;
            var value = new StringBuilder();
            for (; i < text.Length && text[i] != '"'; i++)
            {
                if (text[i] == '\\')
                {
                    if (++i == text.Length)
                    {
                        return false;
                    }

                    switch (text[i])
                    {
                        case '\\': value.Append('\\'); break;
                        case '"': value.Append('"'); break;
                        case 'n': value.Append('\n'); break;
                        default: return false;
                    }
                }
                else
                {
                    value.Append(text[i]);
                }
            }

            if (i == text.Length)
            {
                return false; // no closing quote
            }

            labels.Add(new(name.Value, value.ToString()));
            i++;
            if (i < text.Length && text[i] == ',')
            {
                i++;
            }
            else if (i < text.Length)
            {
                return false;
            }
        }

        return labels.Select(l => l.Key).Distinct().Count() == labels.Count;
    }

    // Go's ParseFloat as the format allows it: decimals, exponents, +Inf, -Inf and NaN.
    private static bool TryParseValue(string text, out double value)
    {
        switch (text)
        {
            case "+Inf": value = double.PositiveInfinity; return true;
            case "-Inf": value = double.NegativeInfinity; return true;
            case "NaN": value = double.NaN; return true;
            default: return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value);
        }
    }

    [GeneratedRegex(@"^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) ?(.*)$")]
    private static partial Regex CommentLine();

    // name, optional {labels}, value, optional integer timestamp; one space apart.
    [GeneratedRegex(@"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: -?\d+)?$")]
    private static partial Regex SampleLine();

    [GeneratedRegex(@"[a-zA-Z_][a-zA-Z0-9_]*")]
    private static partial Regex LabelName();
}
