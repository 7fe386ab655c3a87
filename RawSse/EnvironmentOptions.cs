using System.CommandLine;
using System.CommandLine.Help;

namespace RawSse;

/// <summary>
/// Every option of a command from the environment as well: <c>--max-connections</c> is also
/// <c>RAWSSE_MAX_CONNECTIONS</c>. A variable is read only for an option the command line does not give (the command
/// line wins), and it goes through the command's own parser as the token <c>--name=value</c>, so it meets the same
/// conversion and validation (types, ranges of choices, validators) as the command line does.
/// </summary>
internal sealed class EnvironmentOptions
{
    public const string Prefix = "RAWSSE_";

    private readonly RootCommand _command;
    private readonly Func<string, string?> _read;
    private readonly List<string> _used = [];

    private EnvironmentOptions(RootCommand command, Func<string, string?> read)
    {
        _command = command;
        _read = read;
    }

    /// <summary>The variables whose values the last <see cref="Parse"/> took.</summary>
    public IReadOnlyList<string> Used => _used;

    /// <summary>
    /// Reads <paramref name="command"/>'s options from <paramref name="read"/> (the process's environment by default),
    /// and appends each option's variable to its description, so <c>--help</c> shows it.
    /// </summary>
    public static EnvironmentOptions For(RootCommand command, Func<string, string?>? read = null)
    {
        ArgumentNullException.ThrowIfNull(command);
        var environment = new EnvironmentOptions(command, read ?? Environment.GetEnvironmentVariable);
        foreach (var option in environment.Settable)
        {
            option.Description = $"{option.Description} (env {VariableName(option)})".TrimStart();
        }

        return environment;
    }

    /// <summary><c>--max-connections</c> → <c>RAWSSE_MAX_CONNECTIONS</c>.</summary>
    public static string VariableName(Option option) =>
        Prefix + option.Name.TrimStart('-').ToUpperInvariant().Replace('-', '_');

    /// <summary>
    /// Parses <paramref name="args"/> with the environment's values for the options they do not give.
    /// </summary>
    /// <param name="errors">What is wrong, each naming its option or, for a value from the environment, its variable.</param>
    public ParseResult Parse(IReadOnlyList<string> args, out IReadOnlyList<string> errors)
    {
        _used.Clear();
        var given = _command.Parse(args);
        if (given.Errors.Count > 0)
        {
            errors = [.. given.Errors.Select(e => e.Message)];
            return given;
        }

        // --help and --version stand alone (--version refuses any other token), whatever the environment says.
        if (_command.Options.Any(o => o is HelpOption or VersionOption && given.GetResult(o) is { Implicit: false }))
        {
            errors = [];
            return given;
        }

        var tokens = new List<string>();
        var wrong = new List<string>();
        foreach (var option in Settable)
        {
            string name = VariableName(option);
            if (given.GetResult(option) is { Implicit: false } || _read(name) is not { } value)
            {
                continue;
            }

            // One token with '=': a value that starts with '-' or '@' stays a value (not an option, not a response
            // file). The parser reads "--name=" as a missing value, so an empty one (--allow-origin "") is its own token.
            string[] pair = value.Length == 0 ? [option.Name, ""] : [$"{option.Name}={value}"];
            var alone = _command.Parse(pair);
            if (alone.Errors.Count > 0)
            {
                wrong.Add($"{name}: {alone.Errors[0].Message}");
                continue;
            }

            tokens.AddRange(pair);
            _used.Add(name);
        }

        if (wrong.Count > 0)
        {
            errors = wrong;
            return given;
        }

        var merged = _command.Parse([.. tokens, .. args]);
        errors = [.. merged.Errors.Select(e => e.Message)];
        return merged;
    }

    // The command's own options: help and version are not settings.
    private IEnumerable<Option> Settable => _command.Options.Where(o => o is not HelpOption and not VersionOption);
}
