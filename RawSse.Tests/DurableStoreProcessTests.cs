using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;

namespace RawSse.Tests;

/// <summary>
/// The executable with <c>--store sqlite:PATH</c>, killed with SIGKILL while several clients publish, and started
/// again on the same file: every event it acknowledged with 200 is there, once, in order, with the same epoch and id;
/// a subscriber resuming from any of those ids gets exactly the events after it.
/// </summary>
[TestFixture]
public sealed class DurableStoreProcessTests
{
    private const int Publishers = 4;
    private const int AcksBeforeKill = 400;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    [Test]
    [CancelAfter(120_000)]
    public async Task Kill9_WhilePublishing_EveryAcknowledgedEventSurvivesOnceInOrder()
    {
        // Arrange
        string folder = Directory.CreateTempSubdirectory("rawsse-store-").FullName;
        string store = "sqlite:" + Path.Combine(folder, "events.db");
        string[] args = ["--port", "0", "--interval", "0", "--root", RepoPaths.Public, "--store", store];
        var acked = new List<(int Client, int N, string Id)>();
        using (var first = ProcessTests.StartServer(args))
        {
            using var killFirst = new ProcessKiller(first); // a failed assertion must not leave the server running
            int port = await ProcessTests.ReadListeningPortAsync(first);
            using var stop = new CancellationTokenSource();
            var publishers = Enumerable.Range(0, Publishers).Select(c => PublishUntilFailureAsync(port, c, acked, stop.Token)).ToList();
            bool enough = await Polling.UntilAsync(() => { lock (acked) { return acked.Count >= AcksBeforeKill; } }, Deadline);
            Assert.That(enough, Is.True, $"{AcksBeforeKill} publishes acknowledged before the kill");

            // Act: SIGKILL, while every publisher is mid-stream.
            first.Kill();
            await first.WaitForExitAsync();
            await Task.WhenAll(publishers);
        }

        using var second = ProcessTests.StartServer(args);
        try
        {
            int port = await ProcessTests.ReadListeningPortAsync(second);
            string sentinel = await PublishOnceAsync(port, "topic=t&data=sentinel");
            var all = await ReadUntilAsync(port, lastEventId: "earliest", "sentinel");

            // Assert
            List<(int Client, int N, string Id)> acks;
            lock (acked)
            {
                acks = [.. acked];
            }

            string epoch = acks[0].Id.Split('-')[0];
            TestContext.Out.WriteLine($"{acks.Count} acknowledged before the kill; {all.Count} events in the store after it");
            var ids = all.Select(e => e.Id).ToList();
            Assert.Multiple(() =>
            {
                Assert.That(acks.Select(a => a.Id.Split('-')[0]).Distinct(), Is.EqualTo(new[] { epoch }), "one epoch before the kill");
                Assert.That(sentinel, Does.StartWith(epoch + "-"), "the same epoch after the restart");
                Assert.That(ids, Is.Unique, "no event twice");
                Assert.That(ids.Select(Sequence).ToList(), Is.Ordered.Ascending, "in log order");
                Assert.That(ids, Is.SupersetOf(acks.Select(a => a.Id)), "every acknowledged event is there");
                Assert.That(Sequence(sentinel), Is.GreaterThan(ids.Select(Sequence).DefaultIfEmpty(0).Max()), "positions are not reused after the restart");
                for (int c = 0; c < Publishers; c++)
                {
                    var mine = all.Where(e => e.Data.StartsWith($"c{c}-", StringComparison.Ordinal)).Select(e => int.Parse(e.Data[(e.Data.IndexOf('-') + 1)..], CultureInfo.InvariantCulture)).ToList();
                    Assert.That(mine, Is.Ordered.Ascending.And.Unique, $"client {c}'s events in its own order");
                }
            });

            // And a resume from any acknowledged id gets exactly what came after it.
            foreach (var (_, _, id) in new[] { acks[0], acks[acks.Count / 2], acks[^1] })
            {
                var resumed = await ReadUntilAsync(port, id, "sentinel");
                Assert.That(resumed.Select(e => e.Id), Is.EqualTo(ids.SkipWhile(i => i != id).Skip(1)), $"resumed after {id}");
            }
        }
        finally
        {
            if (!second.HasExited)
            {
                second.Kill();
            }

            Directory.Delete(folder, recursive: true);
        }
    }

    private sealed class ProcessKiller(Process process) : IDisposable
    {
        public void Dispose()
        {
            if (!process.HasExited)
            {
                process.Kill();
            }
        }
    }

    private static long Sequence(string id) => long.Parse(id[(id.IndexOf('-') + 1)..], CultureInfo.InvariantCulture);

    // Publishes c{client}-{n} one after the other on one keep-alive connection until the server goes away.
    private static async Task PublishUntilFailureAsync(int port, int client, List<(int, int, string)> acked, CancellationToken cancellationToken)
    {
        try
        {
            using var connection = await RawClient.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), timeout: Deadline);
            for (int n = 0; !cancellationToken.IsCancellationRequested; n++)
            {
                var response = await Publishing.SendAsync(connection, $"topic=t&data=c{client}-{n}", Deadline, host: "localhost");
                Assert.That(response.Status, Is.EqualTo(200), response.BodyText);
                lock (acked)
                {
                    acked.Add((client, n, response.BodyText));
                }
            }
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or TimeoutException or FormatException or OperationCanceledException)
        {
            // The server was killed: the publish in flight was never acknowledged.
        }
    }

    private static async Task<string> PublishOnceAsync(int port, string body)
    {
        using var connection = await RawClient.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), timeout: Deadline);
        var response = await Publishing.SendAsync(connection, body, Deadline, host: "localhost");
        Assert.That(response.Status, Is.EqualTo(200), response.BodyText);
        return response.BodyText;
    }

    // Opens /sse?topic=t resuming after lastEventId and returns the events up to (not including) the one whose data is `until`.
    private static async Task<List<(string Id, string Data)>> ReadUntilAsync(int port, string lastEventId, string until)
    {
        using var stream = await RawClient.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), timeout: Deadline);
        await stream.SendAsync($"GET /sse?topic=t HTTP/1.1\r\nHost: localhost\r\nLast-Event-ID: {lastEventId}\r\n\r\n");
        var head = await stream.ReadResponseAsync(expectBody: false, Deadline);
        Assert.That(head.Status, Is.EqualTo(200), head.RawHead);
        var text = new StringBuilder(await stream.ReadUntilAsync($"data: {until}\n\n", Deadline));
        return SseStream.Parse(text.ToString()).Where(e => e.EventId is not null).TakeWhile(e => e.Data != until).Select(e => (e.EventId!, e.Data)).ToList();
    }
}
