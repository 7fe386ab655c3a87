namespace RawSse.Tests;

/// <summary>
/// Mercure's hub URL, <c>/.well-known/mercure</c>, on the wire: subscribing with topic selectors (exact, URI templates,
/// <c>*</c>), publishing with Mercure's fields, ids kept exactly as given, the <c>Last-Event-ID</c> response header
/// and <c>earliest</c>, and one delivery per update however many of its topics match.
/// </summary>
[TestFixture]
public sealed class MercureTests
{
    private const string Hub = "/.well-known/mercure";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private static readonly string Publisher = "Bearer " + Tokens.Hs256(Tokens.Mercure(publish: ["*"], subscribe: ["*"]));

    [Test]
    public async Task Subscribe_NoTopic_Answers400()
    {
        await using var server = AuthorizationTests.StartWithKey();

        var response = await AuthorizationTests.GetAsync(server, Hub, "");

        Assert.That(response.Status, Is.EqualTo(400), response.RawHead);
    }

    [Test]
    public async Task Publish_MercureFields_IdComesBackExactlyAndTheEventArrives()
    {
        // Arrange: the conformance suite's own shape of id and data.
        await using var server = AuthorizationTests.StartWithKey();
        using var stream = await AuthorizationTests.OpenAsync(server, $"{Hub}?topic=https%3A%2F%2Fexample.net%2Ffoo%2F1");
        const string Id = "id-[\"https://example.net/foo/1\"]";

        // Act
        var response = await AuthorizationTests.PublishAsync(server,
            "topic=https%3A%2F%2Fexample.net%2Ffoo%2F1&id=" + Uri.EscapeDataString(Id) + "&data=first%0A%0A%20%20indented&type=book&retry=1500",
            Publisher, Hub);
        string frame = await stream.ReadUntilAsync("\n\n", Timeout);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(response.Status, Is.EqualTo(200), response.RawHead);
            Assert.That(response.Headers.GetValueOrDefault("Content-Type"), Does.StartWith("text/plain"));
            Assert.That(response.BodyText, Is.EqualTo(Id));
            Assert.That(frame, Is.EqualTo($"retry: 1500\nid: {Id}\nevent: book\ndata: first\ndata: \ndata:   indented\n\n"));
        });
    }

    [TestCase("https://example.net/foo/{id}", "https://example.net/foo/42", true)]
    [TestCase("https://example.net/foo/{id}", "https://example.net/bar/42", false)]
    [TestCase("https://example.net/foo/{id}", "https://example.net/foo/42/reviews", false)]
    [TestCase("*", "anything at all", true)]
    [TestCase("another-name", "will-not-match}", false)]
    public async Task Subscribe_Selector_MatchesAsMercureSays(string selector, string topic, bool delivered)
    {
        // Arrange
        await using var server = AuthorizationTests.StartWithKey();
        using var stream = await AuthorizationTests.OpenAsync(server, $"{Hub}?topic={Uri.EscapeDataString(selector)}&topic=end");

        // Act: the probe, then an event on "end", which the stream always gets: what comes first tells.
        var probe = await AuthorizationTests.PublishAsync(server, $"topic={Uri.EscapeDataString(topic)}&data=probe", Publisher, Hub);
        var end = await AuthorizationTests.PublishAsync(server, "topic=end&data=end", Publisher, Hub);
        string first = await stream.ReadUntilAsync("\n\n", Timeout);

        // Assert
        Assert.That(first, Is.EqualTo(delivered ? $"id: {probe.BodyText}\ndata: probe\n\n" : $"id: {end.BodyText}\ndata: end\n\n"));
    }

    [Test]
    public async Task Publish_SeveralTopicsMatchingSeveralSelectors_ArrivesOnce()
    {
        // Arrange: a template, an exact topic and * all match the one update.
        await using var server = AuthorizationTests.StartWithKey();
        using var stream = await AuthorizationTests.OpenAsync(server,
            $"{Hub}?topic={Uri.EscapeDataString("https://example.com/books/{id}")}&topic={Uri.EscapeDataString("https://example.com/books/2")}&topic=*");

        // Act
        var both = await AuthorizationTests.PublishAsync(server,
            "topic=https://example.com/books/1&topic=https://example.com/books/2&data=once", Publisher, Hub);
        var next = await AuthorizationTests.PublishAsync(server, "topic=other&data=next", Publisher, Hub);
        var frames = await SseStream.ReadFramesAsync(stream, 2, Timeout);

        // Assert
        Assert.That(frames, Is.EqualTo(new[] { $"id: {both.BodyText}\ndata: once\n\n", $"id: {next.BodyText}\ndata: next\n\n" }));
    }

    [Test]
    public async Task Subscribe_LastEventIdKnown_ResponseHeaderNamesItAndTheRestIsReplayed()
    {
        // Arrange
        await using var server = AuthorizationTests.StartWithKey();
        var first = await AuthorizationTests.PublishAsync(server, "topic=t&data=1", Publisher, Hub);
        var second = await AuthorizationTests.PublishAsync(server, "topic=t&data=2", Publisher, Hub);

        // Act
        var (client, head) = await AuthorizationTests.OpenWithHeadAsync(server, $"{Hub}?topic=t&lastEventID={first.BodyText}", "");
        using var stream = client;
        string replayed = await stream.ReadUntilAsync("\n\n", Timeout);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(head.Headers.GetValueOrDefault("Last-Event-ID"), Is.EqualTo(first.BodyText), head.RawHead);
            Assert.That(replayed, Is.EqualTo($"id: {second.BodyText}\ndata: 2\n\n"));
        });
    }

    [TestCase("earliest")]
    [TestCase("an-id-this-hub-never-gave")]
    public async Task Subscribe_LastEventIdEarliestOrUnknown_ResponseHeaderIsEarliest(string lastEventId)
    {
        // Arrange
        await using var server = AuthorizationTests.StartWithKey();
        var first = await AuthorizationTests.PublishAsync(server, "topic=t&data=1", Publisher, Hub);

        // Act: the header wins over the query parameter.
        var (client, head) = await AuthorizationTests.OpenWithHeadAsync(server, $"{Hub}?topic=t&lastEventID=ignored", $"Last-Event-ID: {lastEventId}\r\n");
        using var stream = client;
        string frame = await stream.ReadUntilAsync("\n\n", Timeout);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(head.Headers.GetValueOrDefault("Last-Event-ID"), Is.EqualTo("earliest"), head.RawHead);
            Assert.That(frame, lastEventId == "earliest" ? Is.EqualTo($"id: {first.BodyText}\ndata: 1\n\n") : Does.Contain("event: reset"));
        });
    }

    [Test]
    public async Task Subscribe_NoLastEventId_NoLastEventIdHeader()
    {
        await using var server = AuthorizationTests.StartWithKey();

        var (client, head) = await AuthorizationTests.OpenWithHeadAsync(server, $"{Hub}?topic=t", "");
        using var stream = client;

        Assert.That(head.Headers.ContainsKey("Last-Event-ID"), Is.False, head.RawHead);
    }

    [Test]
    public async Task Replay_PrivateUpdates_OnlyToAnAuthorisedResume()
    {
        // Arrange
        await using var server = AuthorizationTests.StartWithKey();
        var secret = await AuthorizationTests.PublishAsync(server, "topic=t&data=secret&private=on", Publisher, Hub);
        var open = await AuthorizationTests.PublishAsync(server, "topic=t&data=open", Publisher, Hub);
        string reader = Tokens.Hs256(Tokens.Mercure(subscribe: ["t"]));

        // Act
        using var anonymous = await AuthorizationTests.OpenAsync(server, $"{Hub}?topic=t&lastEventID=earliest");
        using var authorised = await AuthorizationTests.OpenAsync(server, $"{Hub}?topic=t&lastEventID=earliest", $"Authorization: Bearer {reader}\r\n");
        var end = await AuthorizationTests.PublishAsync(server, "topic=t&data=end", Publisher, Hub);
        var anonymousFrames = await SseStream.ReadFramesAsync(anonymous, 2, Timeout);
        var authorisedFrames = await SseStream.ReadFramesAsync(authorised, 3, Timeout);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(anonymousFrames, Is.EqualTo(new[] { $"id: {open.BodyText}\ndata: open\n\n", $"id: {end.BodyText}\ndata: end\n\n" }));
            Assert.That(authorisedFrames, Is.EqualTo(new[]
            {
                $"id: {secret.BodyText}\ndata: secret\n\n", $"id: {open.BodyText}\ndata: open\n\n", $"id: {end.BodyText}\ndata: end\n\n",
            }));
        });
    }

    [Test]
    public async Task Publish_ToTheHubsSubscriptionTopics_Answers403()
    {
        await using var server = AuthorizationTests.StartWithKey();

        var response = await AuthorizationTests.PublishAsync(server,
            "topic=" + Uri.EscapeDataString("/.well-known/mercure/subscriptions/t/urn:uuid:x") + "&data={}", Publisher, Hub);

        Assert.That(response.Status, Is.EqualTo(403), response.BodyText);
    }
}
