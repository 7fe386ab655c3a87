using System.CommandLine;

namespace RawSse.Tests;

/// <summary>EnvironmentOptions over a small command: which values the parse takes from where, and how it reports bad ones.</summary>
[TestFixture]
public sealed class EnvironmentOptionsTests
{
    private Option<int> _maxConnections = null!;
    private Option<string?> _publishToken = null!;
    private Option<bool> _anonymous = null!;
    private Option<string[]> _hosts = null!;
    private RootCommand _command = null!;

    // NUnit shares one fixture instance among its tests, and an option keeps the description For gives it: fresh ones each time.
    [SetUp]
    public void MakeCommand()
    {
        _maxConnections = new("--max-connections") { Description = "Open connections allowed", DefaultValueFactory = _ => 10 };
        _publishToken = new("--publish-token") { Description = "Bearer token" };
        _anonymous = new("--anonymous") { DefaultValueFactory = _ => true, Arity = ArgumentArity.ExactlyOne };
        _hosts = new("--allowed-hosts") { AllowMultipleArgumentsPerToken = true };
        var policy = new Option<string>("--slow-consumer") { DefaultValueFactory = _ => "disconnect" };
        policy.AcceptOnlyFromAmong("disconnect", "drop-oldest");
        _command = new RootCommand("test") { _maxConnections, _publishToken, _anonymous, _hosts, policy };
    }

    [Test]
    public void Parse_VariableForOptionNotGiven_TakesTheVariable()
    {
        // Arrange
        var environment = For(("RAWSSE_MAX_CONNECTIONS", "42"), ("RAWSSE_PUBLISH_TOKEN", "s3cret"), ("RAWSSE_ANONYMOUS", "false"), ("RAWSSE_ALLOWED_HOSTS", "a,b"));

        // Act
        var parsed = environment.Parse([], out var errors);

        // Assert
        Assert.That(errors, Is.Empty);
        Assert.That(parsed.GetValue(_maxConnections), Is.EqualTo(42));
        Assert.That(parsed.GetValue(_publishToken), Is.EqualTo("s3cret"));
        Assert.That(parsed.GetValue(_anonymous), Is.False);
        Assert.That(parsed.GetValue(_hosts), Is.EqualTo(new[] { "a,b" }));
        Assert.That(environment.Used, Is.EquivalentTo(new[] { "RAWSSE_MAX_CONNECTIONS", "RAWSSE_PUBLISH_TOKEN", "RAWSSE_ANONYMOUS", "RAWSSE_ALLOWED_HOSTS" }));
    }

    [Test]
    public void Parse_OptionOnCommandLineAndInEnvironment_CommandLineWins()
    {
        // Arrange
        var environment = For(("RAWSSE_MAX_CONNECTIONS", "42"), ("RAWSSE_PUBLISH_TOKEN", "from-env"));

        // Act
        var parsed = environment.Parse(["--max-connections", "7"], out var errors);

        // Assert
        Assert.That(errors, Is.Empty);
        Assert.That(parsed.GetValue(_maxConnections), Is.EqualTo(7));
        Assert.That(parsed.GetValue(_publishToken), Is.EqualTo("from-env"));
        Assert.That(environment.Used, Is.EqualTo(new[] { "RAWSSE_PUBLISH_TOKEN" }));
    }

    [Test]
    public void Parse_NoVariables_DefaultsStand()
    {
        var environment = For();

        var parsed = environment.Parse([], out var errors);

        Assert.That(errors, Is.Empty);
        Assert.That(parsed.GetValue(_maxConnections), Is.EqualTo(10));
        Assert.That(parsed.GetValue(_publishToken), Is.Null);
        Assert.That(environment.Used, Is.Empty);
    }

    [TestCase("RAWSSE_MAX_CONNECTIONS", "abc")]
    [TestCase("RAWSSE_ANONYMOUS", "maybe")]
    [TestCase("RAWSSE_SLOW_CONSUMER", "sometimes")]
    public void Parse_BadVariable_ErrorNamesTheVariable(string name, string value)
    {
        // Arrange
        var environment = For((name, value));

        // Act
        environment.Parse([], out var errors);

        // Assert
        Assert.That(errors, Has.Count.EqualTo(1), string.Join(" | ", errors));
        Assert.That(errors[0], Does.StartWith(name + ": ").And.Contain(value));
    }

    [TestCase("--looks-like-an-option")]
    [TestCase("@looks-like-a-response-file")]
    [TestCase("a=b:c d")]
    [TestCase("")]
    public void Parse_StringVariable_TakenVerbatim(string value)
    {
        var environment = For(("RAWSSE_PUBLISH_TOKEN", value));

        var parsed = environment.Parse([], out var errors);

        Assert.That(errors, Is.Empty);
        Assert.That(parsed.GetValue(_publishToken), Is.EqualTo(value));
    }

    [Test]
    public void Parse_BadCommandLine_ReportsItWithoutTheEnvironment()
    {
        var environment = For(("RAWSSE_MAX_CONNECTIONS", "abc"));

        environment.Parse(["--max-connections", "x"], out var errors);

        Assert.That(errors, Has.Count.EqualTo(1));
        Assert.That(errors[0], Does.Contain("'x'").And.Not.Contain("RAWSSE_"));
    }

    [Test]
    public void For_EveryOption_DescriptionNamesItsVariable()
    {
        // Act
        For();

        // Assert
        Assert.That(_maxConnections.Description, Is.EqualTo("Open connections allowed (env RAWSSE_MAX_CONNECTIONS)"));
        Assert.That(_anonymous.Description, Is.EqualTo("(env RAWSSE_ANONYMOUS)"));
        Assert.That(_command.Options.Single(o => o.Name == "--help").Description, Does.Not.Contain("RAWSSE_"), "help is not a setting");
    }

    private EnvironmentOptions For(params (string Name, string Value)[] variables)
    {
        var values = variables.ToDictionary(v => v.Name, v => v.Value);
        return EnvironmentOptions.For(_command, name => values.GetValueOrDefault(name));
    }
}
