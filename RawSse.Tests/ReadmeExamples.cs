using System.Text.RegularExpressions;

namespace RawSse.Tests;

/// <summary>
/// Finds the examples in the README's text. The rule: every line of a <c>```sh</c> block that starts with
/// <c>curl </c> and names <c>http://localhost:8080/</c> is a single-server example (the cluster's lines, on
/// 127.0.0.1:8080-8083, need deploy/cluster.sh and are not); every <c>```csharp</c> block is a program to compile.
/// </summary>
internal static partial class ReadmeExamples
{
    public const string ExampleAuthority = "localhost:8080";

    public static IReadOnlyList<ReadmeBlock> Blocks(string markdown)
    {
        var blocks = new List<ReadmeBlock>();
        string[] lines = markdown.ReplaceLineEndings("\n").Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            if (!lines[i].StartsWith("```", StringComparison.Ordinal))
            {
                continue;
            }

            string language = lines[i][3..].Trim();
            int first = i + 1;
            int end = first;
            while (end < lines.Length && !lines[end].StartsWith("```", StringComparison.Ordinal))
            {
                end++;
            }

            // Line numbers count from 1, as an editor shows them.
            blocks.Add(new ReadmeBlock(language, first + 1, lines[first..end]));
            i = end;
        }

        return blocks;
    }

    public static IReadOnlyList<CurlExample> CurlExamples(string markdown) =>
        Blocks(markdown).Where(b => b.Language == "sh")
            .SelectMany(b => b.Lines.Select((line, n) => new CurlExample(b.FirstLine + n, line.Trim())))
            .Where(e => e.Command.StartsWith("curl ", StringComparison.Ordinal) && LocalUrl().IsMatch(e.Command))
            .ToList();

    public static IReadOnlyList<ReadmeBlock> CSharpBlocks(string markdown) =>
        Blocks(markdown).Where(b => b.Language == "csharp").ToList();

    [GeneratedRegex(@"https?://localhost:8080/")]
    private static partial Regex LocalUrl();
}
