namespace RawSse.Tests;

/// <summary>
/// After a burst of connections, once accepting has gone quiet, the server runs one collection that gives the
/// collector's spare memory back: once per burst, never while connections are still arriving.
/// </summary>
[TestFixture]
public sealed class MemoryReturnTests
{
    private const string Logged = "a burst of connections is over";

    [Test]
    public void TryReturn_OnlyAfterAQuietBurst_AndOncePerBurst()
    {
        // Arrange: a burst is 3 connections; any surplus is worth returning.
        var memory = new MemoryReturn(burstConnections: 3, minSurplusBytes: 0);
        long start = Environment.TickCount64;
        memory.OnAccepted();
        memory.OnAccepted();
        long quiet = start + MemoryReturn.QuietMs + 500;

        // Act and Assert
        Assert.That(memory.TryReturn(quiet, acceptedSoFar: 2), Is.Null, "two connections are not a burst");
        memory.OnAccepted();
        Assert.That(memory.TryReturn(Environment.TickCount64, acceptedSoFar: 3), Is.Null, "connections are still arriving");
        long later = Environment.TickCount64 + MemoryReturn.QuietMs + 500;
        Assert.That(memory.TryReturn(later, acceptedSoFar: 3), Is.Not.Null, "a burst of 3, then quiet");
        Assert.That(memory.TryReturn(later + 5000, acceptedSoFar: 3), Is.Null, "the same burst is not collected twice");
    }

    [Test]
    public void TryReturn_BurstsBackToBack_AtMostOnceAMinute()
    {
        // Arrange: a client that opens and closes bursts of connections at will.
        var memory = new MemoryReturn(burstConnections: 2, minSurplusBytes: 0);
        memory.OnAccepted();
        long quiet = Environment.TickCount64 + MemoryReturn.QuietMs + 500;

        // Act
        var first = memory.TryReturn(quiet, acceptedSoFar: 2);
        var second = memory.TryReturn(quiet + 5_000, acceptedSoFar: 4);
        var later = memory.TryReturn(quiet + MemoryReturn.MinIntervalMs + 1, acceptedSoFar: 4);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(first, Is.Not.Null, "the first burst is collected");
            Assert.That(second, Is.Null, "a second burst five seconds later waits");
            Assert.That(later, Is.Not.Null, "once a minute has passed, it is collected");
        });
    }

    [Test]
    public void TryReturn_SurplusBelowTheMinimum_DoesNotCollect()
    {
        // Arrange: no heap holds a petabyte more than it uses.
        var memory = new MemoryReturn(burstConnections: 1, minSurplusBytes: 1L << 50);
        memory.OnAccepted();
        int collections = GC.CollectionCount(2);

        // Act
        var returned = memory.TryReturn(Environment.TickCount64 + MemoryReturn.QuietMs + 500, acceptedSoFar: 1);

        // Assert
        Assert.That(returned, Is.Null);
        Assert.That(GC.CollectionCount(2), Is.EqualTo(collections), "no collection was forced");
    }

    [Test]
    [Category("Timing")]
    public async Task Server_BurstOfConnectionsThenQuiet_GivesMemoryBackAndLogsIt()
    {
        // Arrange: a burst of 20 here (1,000 by default).
        await using var server = TestServer.Start(o =>
        {
            o.MemoryReturnBurst = 20;
            o.MemoryReturnMinBytes = 0;
        });

        // Act: 25 short exchanges, then nothing.
        for (int i = 0; i < 25; i++)
        {
            using var client = await server.ConnectAsync();
            await client.SendAsync("GET / HTTP/1.1\r\nHost: burst\r\nConnection: close\r\n\r\n");
            var response = await client.ReadResponseAsync();
            Assert.That(response.Status, Is.EqualTo(200), response.RawHead);
        }

        bool logged = await Polling.UntilAsync(() => server.Logs.Entries.Any(e => e.Message.StartsWith(Logged, StringComparison.Ordinal)), TimeSpan.FromSeconds(10));

        // Assert
        Assert.That(logged, Is.True, "no memory return was logged within 10 s of the burst");
        Assert.That(server.Logs.Errors, Is.Empty);
    }
}
