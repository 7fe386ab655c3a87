using System.Text.RegularExpressions;
using RawSse.Sse;

namespace RawSse.Tests;

/// <summary>
/// Resumes that never skip: hub ids carry the hub's epoch, so an id from another process or hub never matches; a
/// reset names the newest id, so the next reconnect resumes instead of resetting again; an id that names several kept
/// events resets; and no publisher can send the server's own event names.
/// </summary>
[TestFixture]
public sealed partial class ResumeSafetyTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    [Test]
    public void Publish_HubAssignedIds_EpochDashSequenceStrictlyIncreasing()
    {
        // Arrange
        var hub = new Hub();
        var other = new Hub();

        // Act
        string first = hub.Publish("t", new SseEvent("a"));
        string second = hub.Publish("t", new SseEvent("b"));
        string elsewhere = other.Publish("t", new SseEvent("a"));

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(first, Does.Match(IdPattern()), "<8 lowercase letters or digits>-<sequence>");
            Assert.That(first, Is.EqualTo($"{hub.Epoch}-1"));
            Assert.That(second, Is.EqualTo($"{hub.Epoch}-2"), "the sequence counts the hub's events");
            Assert.That(elsewhere, Is.Not.EqualTo(first), "another hub's first id differs: its epoch does");
        });
    }

    [Test]
    public async Task Subscribe_IdFromAnotherHub_ResetNotAReplayFromTheWrongEvent()
    {
        // Arrange: a restarted server's ids start over; an id of the old process must not match the new one's event.
        await using var server = TestServer.StartWithoutHeartbeats();
        var previousProcess = new Hub();
        string staleId = previousProcess.Publish("t", new SseEvent("old"));
        server.Hub.Publish("t", new SseEvent("new-1"));
        server.Hub.Publish("t", new SseEvent("new-2"));

        // Act
        using var stream = await SseStream.OpenStreamAsync(server, "/sse?topic=t", Timeout, lastEventIdHeader: staleId);
        string first = await stream.ReadUntilAsync("\n\n", Timeout);

        // Assert
        Assert.That(first, Does.Contain("event: reset"), $"an id of another epoch resets: {Describe.Escape(first)}");
    }

    [Test]
    public async Task Subscribe_ResetThenReconnectWithItsId_ResumesWithoutAnotherReset()
    {
        // Arrange
        await using var server = TestServer.StartWithoutHeartbeats();
        server.Hub.Publish("t", new SseEvent("before"));
        using var first = await SseStream.OpenStreamAsync(server, "/sse?topic=t", Timeout, lastEventIdHeader: "unknown-id");
        string reset = await first.ReadUntilAsync("\n\n", Timeout);
        string resetId = ResetId().Match(reset).Groups[1].Value;
        first.Dispose();
        server.Hub.Publish("t", new SseEvent("after"));

        // Act: the browser reconnects with the id the reset carried.
        using var second = await SseStream.OpenStreamAsync(server, "/sse?topic=t", Timeout, lastEventIdHeader: resetId);
        string resumed = await second.ReadUntilAsync("\n\n", Timeout);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(reset, Does.StartWith($"id: {server.Hub.Epoch}-1\nevent: reset\n"), $"the reset names the newest id: {Describe.Escape(reset)}");
            Assert.That(resumed, Does.Contain("data: after\n"), $"resumed after the reset's id: {Describe.Escape(resumed)}");
            Assert.That(resumed, Does.Not.Contain("reset"), "no second reset");
        });
    }

    [Test]
    public async Task Subscribe_ResetOnQuietTopics_CarriesAnIdAnyway()
    {
        // Arrange: nothing published yet; the browser's stale id must still be replaced.
        await using var server = TestServer.StartWithoutHeartbeats();

        // Act
        using var stream = await SseStream.OpenStreamAsync(server, "/sse?topic=quiet", Timeout, lastEventIdHeader: "stale");
        string reset = await stream.ReadUntilAsync("\n\n", Timeout);

        // Assert
        Assert.That(reset, Does.StartWith($"id: {server.Hub.Epoch}-0\nevent: reset\n"), Describe.Escape(reset));
    }

    [Test]
    public async Task Subscribe_CustomIdKeptTwice_ResetNotAResumeAfterEitherCopy()
    {
        // Arrange: a publisher reused "x"; which copy the client saw cannot be known.
        await using var server = TestServer.StartWithoutHeartbeats();
        server.Hub.Publish("t", new SseEvent("first", id: "x"));
        server.Hub.Publish("t", new SseEvent("between"));
        server.Hub.Publish("t", new SseEvent("second", id: "x"));
        server.Hub.Publish("t", new SseEvent("after"));

        // Act
        using var stream = await SseStream.OpenStreamAsync(server, "/sse?topic=t", Timeout, lastEventIdHeader: "x");
        string first = await stream.ReadUntilAsync("\n\n", Timeout);

        // Assert
        Assert.That(first, Does.Contain("event: reset"), $"an ambiguous id resets rather than skip 'between': {Describe.Escape(first)}");
    }

    [Test]
    public async Task Subscribe_HubAssignedId_ResumesRightAfterItsPosition()
    {
        // Arrange
        await using var server = TestServer.StartWithoutHeartbeats();
        string id = server.Hub.Publish("t", new SseEvent("one"));
        server.Hub.Publish("t", new SseEvent("two"));

        // Act
        using var stream = await SseStream.OpenStreamAsync(server, "/sse?topic=t", Timeout, lastEventIdHeader: id);
        string next = await stream.ReadUntilAsync("\n\n", Timeout);

        // Assert
        Assert.That(next, Is.EqualTo($"id: {server.Hub.Epoch}-2\ndata: two\n\n"), Describe.Escape(next));
    }

    [TestCase("reset")]
    [TestCase("tick")]
    public async Task Publish_ServersOwnEventName_Returns400NamingTheField(string type)
    {
        // Arrange
        await using var server = TestServer.StartWithoutHeartbeats();
        using var client = await server.ConnectAsync();

        // Act
        var response = await Publishing.SendAsync(client, $"topic=t&type={type}&data=forged", Timeout);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(response.Status, Is.EqualTo(400), Describe.Response(response));
            Assert.That(response.BodyText, Does.Contain("field 'type'"), Describe.Response(response));
            if (type == Hub.ResetType)
            {
                Assert.Throws<ArgumentException>(() => server.Hub.Publish("t", new SseEvent("x", type: type)), "the in-process API refuses the control event too");
            }
        });
    }

    [GeneratedRegex("^[0-9a-z]{8}-[0-9]+$")]
    private static partial Regex IdPattern();

    [GeneratedRegex("^id: (.+)$", RegexOptions.Multiline)]
    private static partial Regex ResetId();
}
