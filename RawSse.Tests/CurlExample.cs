namespace RawSse.Tests;

/// <summary>
/// A <c>curl</c> line of the README, with the line it is on. <see cref="IsStream"/>: it holds a stream open
/// (<c>-N</c>, no buffering), which the runner reads until an event arrives; any other line is a request whose
/// answer must be 200.
/// </summary>
internal sealed record CurlExample(int Line, string Command)
{
    public bool IsStream => Command.Split(' ', StringSplitOptions.RemoveEmptyEntries).Contains("-N");

    public override string ToString() => $"README line {Line}: {Command}";
}
