using System.Text.Json;

namespace RawSse.Tests;

/// <summary>
/// Mercure's active subscriptions with <c>--subscriptions</c>: a private event when a subscription starts and when it
/// ends, to subscribers allowed to see them, and <c>GET /.well-known/mercure/subscriptions[/{topic}[/{subscriber}]]</c>.
/// </summary>
[TestFixture]
public sealed class SubscriptionsApiTests
{
    private const string Selector = "/.well-known/mercure/subscriptions{/topic}{/subscriber}";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private static readonly string Watcher = Tokens.Hs256(Tokens.Mercure(subscribe: [Selector]));

    [Test]
    public async Task Subscribe_ThenLeave_WatcherGetsActiveThenInactiveWithThePayload()
    {
        // Arrange
        await using var server = Start();
        using var watcher = await AuthorizationTests.OpenAsync(server, $"/.well-known/mercure?topic={Uri.EscapeDataString(Selector)}",
            $"Authorization: Bearer {Watcher}\r\n");
        string member = Tokens.Hs256(Tokens.Mercure(subscribe: ["books"], payload: new Dictionary<string, object> { ["user"] = "ada" }));
        var own = Data(await watcher.ReadUntilAsync("\n\n", Timeout));
        Assert.That(own.GetProperty("topic").GetString(), Is.EqualTo(Selector), "the watcher first sees its own subscription");

        // Act
        var reader = await AuthorizationTests.OpenAsync(server, "/.well-known/mercure?topic=books", $"Authorization: Bearer {member}\r\n");
        var joined = Data(await watcher.ReadUntilAsync("\n\n", Timeout));
        reader.Dispose();
        var left = Data(await watcher.ReadUntilAsync("\n\n", Timeout));

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(joined.GetProperty("@context").GetString(), Is.EqualTo("https://mercure.rocks/"));
            Assert.That(joined.GetProperty("type").GetString(), Is.EqualTo("Subscription"));
            Assert.That(joined.GetProperty("topic").GetString(), Is.EqualTo("books"));
            Assert.That(joined.GetProperty("subscriber").GetString(), Does.StartWith("urn:uuid:"));
            Assert.That(joined.GetProperty("id").GetString(),
                Is.EqualTo($"/.well-known/mercure/subscriptions/books/{Uri.EscapeDataString(joined.GetProperty("subscriber").GetString()!)}"));
            Assert.That(joined.GetProperty("active").GetBoolean(), Is.True);
            Assert.That(joined.GetProperty("payload").GetProperty("user").GetString(), Is.EqualTo("ada"));
            Assert.That(left.GetProperty("active").GetBoolean(), Is.False, "the leave");
            Assert.That(left.GetProperty("subscriber").GetString(), Is.EqualTo(joined.GetProperty("subscriber").GetString()));
        });
    }

    [Test]
    public async Task Subscribe_AnonymousWatcher_GetsNoSubscriptionEvents()
    {
        // Arrange: the events are private.
        await using var server = Start();
        using var anonymous = await AuthorizationTests.OpenAsync(server, $"/.well-known/mercure?topic=*");

        // Act
        using var reader = await AuthorizationTests.OpenAsync(server, "/.well-known/mercure?topic=books");
        var end = await AuthorizationTests.PublishAsync(server, "topic=end&data=end", "Bearer " + Tokens.Hs256(Tokens.Mercure(publish: ["*"])));
        string first = await anonymous.ReadUntilAsync("\n\n", Timeout);

        // Assert
        Assert.That(first, Is.EqualTo($"id: {end.BodyText}\ndata: end\n\n"));
    }

    [Test]
    public async Task Get_Collection_ListsLiveSubscriptions()
    {
        // Arrange
        await using var server = Start();
        using var reader = await AuthorizationTests.OpenAsync(server, $"/.well-known/mercure?topic=books&topic={Uri.EscapeDataString("https://ex.com/{id}")}");

        // Act
        var all = await AuthorizationTests.GetAsync(server, "/.well-known/mercure/subscriptions", $"Authorization: Bearer {Watcher}\r\n");
        var books = await AuthorizationTests.GetAsync(server, "/.well-known/mercure/subscriptions/books", $"Authorization: Bearer {Watcher}\r\n");

        // Assert
        using var allJson = JsonDocument.Parse(all.BodyText);
        using var booksJson = JsonDocument.Parse(books.BodyText);
        var topics = allJson.RootElement.GetProperty("subscriptions").EnumerateArray().Select(s => s.GetProperty("topic").GetString()).Order().ToList();
        Assert.Multiple(() =>
        {
            Assert.That(all.Status, Is.EqualTo(200), all.BodyText);
            Assert.That(all.Headers.GetValueOrDefault("Content-Type"), Is.EqualTo("application/ld+json"));
            Assert.That(allJson.RootElement.GetProperty("type").GetString(), Is.EqualTo("Subscriptions"));
            Assert.That(allJson.RootElement.GetProperty("id").GetString(), Is.EqualTo("/.well-known/mercure/subscriptions"));
            Assert.That(allJson.RootElement.GetProperty("lastEventID").GetString(), Is.Not.Empty);
            Assert.That(topics, Is.EqualTo(new[] { "books", "https://ex.com/{id}" }));
            Assert.That(booksJson.RootElement.GetProperty("subscriptions").GetArrayLength(), Is.EqualTo(1));
        });
    }

    [Test]
    public async Task Get_OneSubscription_AnswersItOr404()
    {
        // Arrange
        await using var server = Start();
        using var reader = await AuthorizationTests.OpenAsync(server, "/.well-known/mercure?topic=books");
        var all = await AuthorizationTests.GetAsync(server, "/.well-known/mercure/subscriptions", $"Authorization: Bearer {Watcher}\r\n");
        using var allJson = JsonDocument.Parse(all.BodyText);
        string id = allJson.RootElement.GetProperty("subscriptions")[0].GetProperty("id").GetString()!;

        // Act
        var one = await AuthorizationTests.GetAsync(server, id, $"Authorization: Bearer {Watcher}\r\n");
        var gone = await AuthorizationTests.GetAsync(server, "/.well-known/mercure/subscriptions/books/urn%3Auuid%3Anobody", $"Authorization: Bearer {Watcher}\r\n");

        // Assert
        using var oneJson = JsonDocument.Parse(one.BodyText);
        Assert.Multiple(() =>
        {
            Assert.That(one.Status, Is.EqualTo(200), one.BodyText);
            Assert.That(oneJson.RootElement.GetProperty("id").GetString(), Is.EqualTo(id));
            Assert.That(oneJson.RootElement.GetProperty("active").GetBoolean(), Is.True);
            Assert.That(oneJson.RootElement.GetProperty("lastEventID").GetString(), Is.Not.Empty);
            Assert.That(gone.Status, Is.EqualTo(404));
        });
    }

    [TestCase(null, 401)]
    [TestCase("books", 403)]
    public async Task Get_WithoutTheRightClaim_IsRefused(string? claim, int expected)
    {
        // Arrange
        await using var server = Start();
        string headers = claim is null ? "" : $"Authorization: Bearer {Tokens.Hs256(Tokens.Mercure(subscribe: [claim]))}\r\n";

        // Act
        var response = await AuthorizationTests.GetAsync(server, "/.well-known/mercure/subscriptions", headers);

        // Assert
        Assert.That(response.Status, Is.EqualTo(expected), response.RawHead);
    }

    [Test]
    public async Task Get_FeatureOff_Answers404()
    {
        await using var server = AuthorizationTests.StartWithKey();

        var response = await AuthorizationTests.GetAsync(server, "/.well-known/mercure/subscriptions", $"Authorization: Bearer {Watcher}\r\n");

        Assert.That(response.Status, Is.EqualTo(404));
    }

    private static TestServer Start() => AuthorizationTests.StartWithKey(o => o.Subscriptions = true);

    private static JsonElement Data(string frame)
    {
        var items = SseStream.Parse(frame);
        Assert.That(items, Has.Count.EqualTo(1), frame);
        return JsonDocument.Parse(items[0].Data).RootElement.Clone();
    }
}
