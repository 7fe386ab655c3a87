using System.Diagnostics;

namespace RawSse.Tests;

/// <summary>
/// The demo page in headless Chromium across a real restart of the executable with <c>--store sqlite:PATH</c>, killed
/// with SIGKILL: the page's EventSource reconnects by itself with its Last-Event-ID, and the ids it lists run on with
/// no gap and no duplicate, in the same epoch.
/// </summary>
[TestFixture]
[Category("Browser")]
public sealed class DurableBrowserTests
{
    private static readonly TimeSpan PageTimeout = TimeSpan.FromSeconds(15);

    [Test]
    [CancelAfter(60_000)]
    public async Task DemoPage_Kill9AndRestartWithSqliteStore_IdsContiguousSameEpoch()
    {
        // Arrange: the executable ticking every 200 ms into a SQLite store, on a port the restart can take again.
        string folder = Directory.CreateTempSubdirectory("rawsse-store-").FullName;
        int port = Loopback.FreeTcpPort();
        string[] args = ["--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--interval", "200", "--retry", "500",
            "--root", RepoPaths.Public, "--store", "sqlite:" + Path.Combine(folder, "events.db")];
        Process? server = ProcessTests.StartServer(args);
        try
        {
            await ProcessTests.ReadListeningPortAsync(server);
            await using var browser = Browser.Start();
            browser.Open($"http://localhost:{port}/");
            var before = await browser.WaitForAsync(p => p.State == "open" && p.TickIds.Count >= 5, PageTimeout);
            Assert.That(before.TickIds, Has.Count.GreaterThanOrEqualTo(5), $"ticks before the kill; the page showed: {before}");

            // Act: SIGKILL (no graceful end), then the same command on the same file and port.
            server.Kill();
            await server.WaitForExitAsync();
            server.Dispose();
            var down = await browser.WaitForAsync(p => p.State != "open", PageTimeout);
            long lastBefore = down.MaxId;
            server = ProcessTests.StartServer(args);
            await ProcessTests.ReadListeningPortAsync(server);
            var after = await browser.WaitForAsync(p => p.State == "open" && p.MaxId >= lastBefore + 5, PageTimeout);

            // Assert
            var ids = after.Ids;
            var numbers = ids.Select(PageSnapshot.SequenceOf).ToList();
            List<long> expected = numbers.Count == 0 ? [] : [.. Enumerable.Range(0, numbers.Count).Select(i => numbers[0] + i)];
            Assert.Multiple(() =>
            {
                Assert.That(down.State, Is.Not.EqualTo("open"), $"the page saw the server go; it showed: {down}");
                Assert.That(ids.Select(id => id.Split('-')[0]).Distinct().Count(), Is.EqualTo(1), $"one epoch across the restart: [{string.Join(", ", ids)}]");
                Assert.That(after.MaxId, Is.GreaterThanOrEqualTo(lastBefore + 5), $"ticks from the restarted server; the page showed: {after}");
                Assert.That(numbers, Is.EqualTo(expected), $"ids in arrival order must be contiguous, no gap and no duplicate; arrived: [{string.Join(", ", ids)}]");
            });
        }
        finally
        {
            if (server is { HasExited: false })
            {
                server.Kill();
            }

            server?.Dispose();
            Directory.Delete(folder, recursive: true);
        }
    }
}
