using RawSse.Auth;
using RawSse.Sse;

namespace RawSse.Tests;

/// <summary>
/// A seeded property test of who receives what: random subscribers (topic selectors and a <c>mercure.subscribe</c>
/// claim, or none) and random updates (one to three topics, public or private). Each subscriber must receive exactly
/// the updates the rules allow (one of the update's topics matches one of its selectors, and, for a private update,
/// one of its topics matches one of its claim's selectors), in publish order, each once: live, in a replay of
/// everything kept (<c>earliest</c>), and in a replay from the middle. The expected matches come from a table written
/// by hand, not from the matcher under test.
/// </summary>
[TestFixture]
public sealed class SelectorDeliveryTests
{
    private const string Sentinel = "sentinel";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    private static readonly string[] s_topics =
        ["https://ex.com/a/1", "https://ex.com/a/2", "https://ex.com/b/1", "https://ex.com/a/1/c", "x", "y"];

    // Which of s_topics each selector matches (RFC 6570: a simple {var} takes no '/', a reserved {+var} does).
    private static readonly Dictionary<string, string[]> s_matches = new()
    {
        ["https://ex.com/a/{id}"] = ["https://ex.com/a/1", "https://ex.com/a/2"],
        ["https://ex.com/{kind}/1"] = ["https://ex.com/a/1", "https://ex.com/b/1"],
        ["https://ex.com/{+path}"] = ["https://ex.com/a/1", "https://ex.com/a/2", "https://ex.com/b/1", "https://ex.com/a/1/c"],
        ["https://ex.com/a/1"] = ["https://ex.com/a/1"],
        ["x"] = ["x"],
        ["*"] = [.. s_topics],
        ["z"] = [],
    };

    private static readonly string[]?[] s_claims =
        [null, [], ["https://ex.com/a/{id}"], ["x"], ["*"], ["https://ex.com/{+path}", "y"]];

    [Test]
    public async Task Delivery_RandomSubscribersAndUpdates_EachGetsExactlyWhatTheRulesAllow([Range(1, 25)] int seed)
    {
        // Arrange
        var random = new Random(seed);
        var hub = new Hub();
        var subscribers = Enumerable.Range(0, 10).Select(_ => RandomSubscriber(random)).ToList();
        var live = subscribers.Select(s => Join(hub, s, lastEventId: null)).ToList();

        // Act
        var updates = new List<Update>();
        for (int i = 0; i < 40; i++)
        {
            var topics = Enumerable.Range(0, random.Next(1, 4)).Select(_ => s_topics[random.Next(s_topics.Length)]).ToArray();
            bool isPrivate = random.Next(3) == 0;
            string id = hub.Publish(topics, new SseEvent($"u{i}"), isPrivate);
            updates.Add(new Update(id, topics, isPrivate));
        }

        hub.Publish([Sentinel], new SseEvent("end"));
        var fromStart = subscribers.Select(s => Join(hub, s, "earliest")).ToList();
        string middle = updates[updates.Count / 2].Id;
        var fromMiddle = subscribers.Select(s => Join(hub, s, middle)).ToList();

        // Assert
        for (int n = 0; n < subscribers.Count; n++)
        {
            var who = subscribers[n];
            var expected = updates.Where(u => Allowed(who, u)).Select(u => u.Id).ToList();
            var expectedAfterMiddle = updates.Skip((updates.Count / 2) + 1).Where(u => Allowed(who, u)).Select(u => u.Id).ToList();
            string description = $"seed {seed}, subscriber {n}: selectors [{string.Join(", ", who.Selectors)}], claim {(who.Claim is null ? "none" : $"[{string.Join(", ", who.Claim)}]")}";
            Assert.That(await live[n].IdsUntilSentinelAsync(Deadline), Is.EqualTo(expected), $"live; {description}");
            Assert.That(await fromStart[n].IdsUntilSentinelAsync(Deadline), Is.EqualTo(expected), $"replay from earliest; {description}");
            Assert.That(await fromMiddle[n].IdsUntilSentinelAsync(Deadline), Is.EqualTo(expectedAfterMiddle), $"replay after {middle}; {description}");
        }
    }

    private static bool Allowed(Who who, Update update)
    {
        bool routed = update.Topics.Any(t => who.Selectors.Any(s => s_matches[s].Contains(t)));
        bool authorised = !update.IsPrivate || (who.Claim is not null && update.Topics.Any(t => who.Claim.Any(c => c == t || s_matches.GetValueOrDefault(c, []).Contains(t))));
        return routed && authorised;
    }

    private static Who RandomSubscriber(Random random)
    {
        var keys = s_matches.Keys.ToArray();
        var selectors = Enumerable.Range(0, random.Next(1, 4)).Select(_ => keys[random.Next(keys.Length)]).Distinct().ToArray();
        return new Who(selectors, s_claims[random.Next(s_claims.Length)]);
    }

    private static RecordingStreamSink Join(Hub hub, Who who, string? lastEventId)
    {
        var sink = new RecordingStreamSink("end");
        var parsed = who.Selectors.Append(Sentinel).Select(SelectorCache.Get).ToList();
        var subscriber = new Subscriber(sink, [.. parsed.Where(p => p.Kind == SelectorKind.Exact).Select(p => p.Text)],
            new SubscriberLimits(4096, 1 << 20, SlowConsumerPolicy.Disconnect), hub)
        {
            Patterns = [.. parsed.Where(p => p.Kind != SelectorKind.Exact)],
            Claims = who.Claim is null ? null : TokenClaims.Create(subscribe: who.Claim),
        };
        Assert.That(hub.TrySubscribe(subscriber, lastEventId), Is.True);
        subscriber.Flush();
        return sink;
    }

    private sealed record Who(string[] Selectors, string[]? Claim);

    private sealed record Update(string Id, string[] Topics, bool IsPrivate);
}
