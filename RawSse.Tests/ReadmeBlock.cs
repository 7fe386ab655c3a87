namespace RawSse.Tests;

/// <summary>One fenced code block of a Markdown file: its info string (<c>sh</c>, <c>csharp</c>), the line its first code line is on, and its lines.</summary>
internal sealed record ReadmeBlock(string Language, int FirstLine, IReadOnlyList<string> Lines)
{
    public string Text => string.Join('\n', Lines) + "\n";
}
