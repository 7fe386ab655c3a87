
namespace RawSse.Tests;

/// <summary>
/// Topics on the wire: <c>/sse?topic=</c> subscriptions (several, none, duplicates, limits, encoded names) and
/// fan-out from <c>POST /publish</c> with no cross-talk between topics and no duplicate to a stream on several.
/// </summary>
[TestFixture]
public sealed class TopicTests
{
    private const int MaxTopicsPerStream = 32;
    private const string Sentinel = "end";
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan SettleTimeout = TimeSpan.FromSeconds(5);

    [Test]
    public async Task Publish_ToSeveralTopics_EachStreamGetsExactlyItsEventsInOrder()
    {
        // Arrange
        await using var server = TestServer.StartWithoutHeartbeats();
        using var streamA = await SseStream.OpenStreamAsync(server, "/sse?topic=a", ReadTimeout);
        using var streamB = await SseStream.OpenStreamAsync(server, "/sse?topic=b", ReadTimeout);
        using var streamAB = await SseStream.OpenStreamAsync(server, "/sse?topic=a&topic=b", ReadTimeout);
        using var streamDefault = await SseStream.OpenStreamAsync(server, "/sse", ReadTimeout);
        await WaitForSubscribersAsync(server, total: 4, ("a", 2), ("b", 2), ("default", 1));
        using var publisher = await server.ConnectAsync();

        // Act
        string toA = await PublishAsync(publisher, "topic=a&data=to-a");
        string toB = await PublishAsync(publisher, "topic=b&data=to-b");
        string toAB = await PublishAsync(publisher, "topic=a&topic=b&data=to-ab");
        string toDefault = await PublishAsync(publisher, "topic=default&data=to-default");
        // The sentinel goes to every topic last: whatever a stream holds before it is everything it was sent.
        string end = await PublishAsync(publisher, $"topic=a&topic=b&topic=default&data={Sentinel}");
        string receivedA = await ReadUntilSentinelAsync(streamA);
        string receivedB = await ReadUntilSentinelAsync(streamB);
        string receivedAB = await ReadUntilSentinelAsync(streamAB);
        string receivedDefault = await ReadUntilSentinelAsync(streamDefault);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(DataOf(receivedA), Is.EqualTo(new[] { "to-a", "to-ab", Sentinel }), "stream on a");
            Assert.That(DataOf(receivedB), Is.EqualTo(new[] { "to-b", "to-ab", Sentinel }), "stream on b");
            Assert.That(DataOf(receivedAB), Is.EqualTo(new[] { "to-a", "to-b", "to-ab", Sentinel }), "stream on a and b: the a+b event once");
            Assert.That(DataOf(receivedDefault), Is.EqualTo(new[] { "to-default", Sentinel }), "stream on the default topic");

            Assert.That(Describe.Escape(receivedA), Is.EqualTo(Frames((toA, "to-a"), (toAB, "to-ab"), (end, Sentinel))), "stream on a, exact bytes");
            Assert.That(Describe.Escape(receivedB), Is.EqualTo(Frames((toB, "to-b"), (toAB, "to-ab"), (end, Sentinel))), "stream on b, exact bytes");
            Assert.That(Describe.Escape(receivedAB), Is.EqualTo(Frames((toA, "to-a"), (toB, "to-b"), (toAB, "to-ab"), (end, Sentinel))),
                "stream on a and b, exact bytes");
            Assert.That(Describe.Escape(receivedDefault), Is.EqualTo(Frames((toDefault, "to-default"), (end, Sentinel))), "default stream, exact bytes");
        });
    }

    // A topic named twice, on the publishing side or the subscribing side, still means one delivery.
    [TestCase("/sse?topic=a", "topic=a&topic=a&data=once", TestName = "Publish_SameTopicNamedTwice_DeliveredOnce")]
    [TestCase("/sse?topic=a&topic=a", "topic=a&data=once", TestName = "Stream_DuplicateTopic_CountsOnceAndReceivesOnce")]
    public async Task DuplicateTopic_DeliveredOnce(string target, string publishBody)
    {
        // Arrange
        await using var server = TestServer.StartWithoutHeartbeats();
        using var stream = await SseStream.OpenStreamAsync(server, target, ReadTimeout);
        await WaitForSubscribersAsync(server, total: 1, ("a", 1));
        using var publisher = await server.ConnectAsync();

        // Act
        string once = await PublishAsync(publisher, publishBody);
        string end = await PublishAsync(publisher, $"topic=a&data={Sentinel}");
        string received = await ReadUntilSentinelAsync(stream);

        // Assert
        Assert.That(Describe.Escape(received), Is.EqualTo(Frames((once, "once"), (end, Sentinel))));
    }

    [Test]
    public async Task Publish_TopicWithNoSubscribers_Returns200AndOtherStreamsGetNothing()
    {
        // Arrange
        await using var server = TestServer.StartWithoutHeartbeats();
        using var stream = await SseStream.OpenStreamAsync(server, "/sse?topic=a", ReadTimeout);
        await WaitForSubscribersAsync(server, total: 1, ("a", 1));
        using var publisher = await server.ConnectAsync();

        // Act
        await PublishAsync(publisher, "topic=nobody&data=lost");
        await PublishAsync(publisher, "topic=A&data=case-differs");
        string end = await PublishAsync(publisher, $"topic=a&data={Sentinel}");
        string received = await ReadUntilSentinelAsync(stream);

        // Assert: topic names are compared exactly.
        Assert.That(Describe.Escape(received), Is.EqualTo(Frames((end, Sentinel))));
    }

    // A stream the server must refuse with 400, subscribing nothing. Each case keeps the name it had as a test of its own.
    // C1 controls (U+0085 NEL, U+009B CSI) count as control characters; "%zz" is no escape, so it is kept as it is
    // (WHATWG), a valid name.
    private static IEnumerable<TestCaseData> RefusedStreamQueries()
    {
        foreach (string query in new[] { "?topic=", "?topic", "?topic=a&topic=", "?topic=a%0Ab", "?topic=%C0%AE", "?topic=a%C2%85b", "?topic=%C2%9B" })
        {
            yield return new TestCaseData(query).SetName($"Stream_InvalidTopicParameter_Returns400(\"{query}\")");
        }

        yield return new TestCaseData("?" + string.Join('&', Enumerable.Range(0, MaxTopicsPerStream + 1).Select(i => $"topic=t{i}"))).SetName("Stream_MoreThan32Topics_Returns400");
    }

    [TestCaseSource(nameof(RefusedStreamQueries))]
    public async Task Stream_RefusedQuery_Returns400(string query)
    {
        // Arrange
        await using var server = TestServer.StartWithoutHeartbeats();
        using var client = await server.ConnectAsync();

        // Act
        await client.SendAsync($"GET /sse{query} HTTP/1.1\r\nHost: test\r\n\r\n");
        var response = await client.ReadResponseAsync(timeout: ReadTimeout);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(response.Status, Is.EqualTo(400), Describe.Response(response));
            Assert.That(server.Hub.SubscriberCount, Is.Zero, "a refused stream subscribes to nothing");
        });
    }

    [Test]
    public async Task Stream_Exactly32Topics_SubscribesToEveryOne()
    {
        // Arrange
        await using var server = TestServer.StartWithoutHeartbeats();
        var topics = Enumerable.Range(0, MaxTopicsPerStream).Select(i => $"t{i}").ToArray();

        // Act
        using var stream = await SseStream.OpenStreamAsync(server, "/sse?" + string.Join('&', topics.Select(t => $"topic={t}")), ReadTimeout);

        // Assert
        await WaitForSubscribersAsync(server, total: 1, topics.Select(t => (t, 1)).ToArray());
    }

    [Test]
    public async Task Stream_32TopicsPlusADuplicate_DuplicateCountsOnceAndStreamOpens()
    {
        // Arrange: 32 distinct topics, then t0 again: still 32 topics, which is within the limit.
        await using var server = TestServer.StartWithoutHeartbeats();
        using var client = await server.ConnectAsync();
        var topics = Enumerable.Range(0, MaxTopicsPerStream).Select(i => $"t{i}").Append("t0");
        string query = "?" + string.Join('&', topics.Select(t => $"topic={t}"));

        // Act
        await client.SendAsync($"GET /sse{query} HTTP/1.1\r\nHost: test\r\n\r\n");
        var response = await client.ReadResponseAsync(expectBody: false, ReadTimeout);

        // Assert
        Assert.That(response.Status, Is.EqualTo(200), $"a duplicate counts once, so this is 32 topics: {Describe.Response(response)}");
    }

    [TestCase("caf%C3%A9+au+lait", "topic=caf%C3%A9+au+lait", "café au lait")]
    [TestCase("caf%C3%A9%20au%20lait", "topic=caf%C3%A9%20au%20lait", "café au lait")]
    [TestCase("caf%C3%A9+au+lait", "topic=caf%C3%A9%20au%20lait", "café au lait")]
    [TestCase("%E6%97%A5%E6%9C%AC%E8%AA%9E", "topic=%E6%97%A5%E6%9C%AC%E8%AA%9E", "日本語")]
    [TestCase("party%F0%9F%8E%89", "topic=party%F0%9F%8E%89", "party🎉")]
    [TestCase("a%26b%3Dc", "topic=a%26b%3Dc", "a&b=c")]
    public async Task Stream_PercentEncodedTopicName_ReceivesItsEvents(string streamTopic, string publishTopicField, string decoded)
    {
        // Arrange
        await using var server = TestServer.StartWithoutHeartbeats();
        using var stream = await SseStream.OpenStreamAsync(server, $"/sse?topic={streamTopic}", ReadTimeout);
        await WaitForSubscribersAsync(server, total: 1, (decoded, 1));
        using var publisher = await server.ConnectAsync();

        // Act
        string id = await PublishAsync(publisher, $"{publishTopicField}&data=hello");
        string received = await stream.ReadUntilAsync("\n\n", ReadTimeout);

        // Assert
        Assert.That(Describe.Escape(received), Is.EqualTo(Frames((id, "hello"))));
    }

    [Test]
    public async Task Stream_TopicOf256Characters_Subscribes()
    {
        // Arrange
        await using var server = TestServer.StartWithoutHeartbeats();
        string topic = new('t', 256);

        // Act
        using var stream = await SseStream.OpenStreamAsync(server, $"/sse?topic={topic}", ReadTimeout);

        // Assert
        await WaitForSubscribersAsync(server, total: 1, (topic, 1));
    }

    [Test]
    public async Task Stream_TopicOf257Characters_Returns400()
    {
        // Arrange
        await using var server = TestServer.StartWithoutHeartbeats();
        using var client = await server.ConnectAsync();

        // Act
        await client.SendAsync($"GET /sse?topic={new string('t', 257)} HTTP/1.1\r\nHost: test\r\n\r\n");
        var response = await client.ReadResponseAsync(timeout: ReadTimeout);

        // Assert
        Assert.That(response.Status, Is.EqualTo(400), Describe.Response(response));
    }

    // ---- helpers ----------------------------------------------------------------------------------------

    /// <summary>Polls until the hub has <paramref name="total"/> streams and each topic its expected count.</summary>
    private static async Task WaitForSubscribersAsync(TestServer server, int total, params (string Topic, int Count)[] expected)
    {
        bool Settled() => server.Hub.SubscriberCount == total && expected.All(e => server.Hub.CountSubscribers(e.Topic) == e.Count);

        bool settled = await Polling.UntilAsync(Settled, SettleTimeout);
        string have = $"{server.Hub.SubscriberCount} streams; "
            + string.Join(", ", expected.Select(e => $"'{e.Topic}': {server.Hub.CountSubscribers(e.Topic)} (expected {e.Count})"));
        Assert.That(settled, Is.True, $"expected {total} streams; have {have}");
    }

    /// <summary>Publishes a form body and returns the event id it was given.</summary>
    private static async Task<string> PublishAsync(RawClient client, string body)
    {
        var response = await Publishing.SendAsync(client, body, ReadTimeout);
        Assert.That(response.Status, Is.EqualTo(200), $"publish '{body}': {Describe.Response(response)}");
        return response.BodyText;
    }

    private static Task<string> ReadUntilSentinelAsync(RawClient stream) => stream.ReadUntilAsync($"data: {Sentinel}\n\n", ReadTimeout);

    /// <summary>The data of every event in <paramref name="streamText"/>, as the runtime's SSE parser reads it.</summary>
    private static List<string> DataOf(string streamText) =>
        SseStream.Parse(streamText).Select(e => e.Data).ToList();

    private static string Frames(params (string Id, string Data)[] events) =>
        Describe.Escape(string.Concat(events.Select(e => $"id: {e.Id}\ndata: {e.Data}\n\n")));
}
