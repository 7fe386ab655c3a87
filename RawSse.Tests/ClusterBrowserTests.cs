using System.Diagnostics;
using RawSse.Sse;

namespace RawSse.Tests;

/// <summary>
/// The demo page in headless Chromium through nginx running <c>deploy/nginx-cluster.conf</c> (ports rewritten) in front
/// of two RawSse nodes on one JetStream stream. The node holding the page's stream is killed with SIGKILL while a
/// numbered series is published on the other: the page's EventSource reconnects through nginx with its Last-Event-ID,
/// nginx sends it to the survivor, and the page lists every event of the series once, in order, with no gap and no reset.
/// </summary>
[TestFixture]
[Category("Browser")]
[Category("Proxy")]
[NonParallelizable]
public sealed class ClusterBrowserTests
{
    // Fewer than the page's 200 list items, so the page shows the whole series at the end.
    private const int Events = 150;
    private const int BeforeKill = 30;
    private static readonly TimeSpan PageTimeout = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan PublishPause = TimeSpan.FromMilliseconds(20);
    private static readonly string[] NodeOptions = ["--retry", "500"];

    [Test]
    [CancelAfter(90_000)]
    public async Task DemoPage_ThroughNginxItsNodeKilled9_ResumesOnTheOtherNodeWithContiguousIds()
    {
        // Arrange: nats-server, two nodes on one stream, nginx round robin over them, the page through nginx.
        var cancellationToken = TestContext.CurrentContext.CancellationToken;
        await using var nats = await NatsServer.StartNewAsync();
        string store = nats.StoreSpec(NatsServer.NewStreamName());
        using var nodeA = await ClusterNode.StartAsync(store, NodeOptions);
        using var nodeB = await ClusterNode.StartAsync(store, NodeOptions);
        await using var nginx = await Nginx.StartAsync(RepoPaths.NginxClusterConf, "listen 8080;",
            ("server 127.0.0.1:8081 ", $"server 127.0.0.1:{nodeA.Port} "),
            ("server 127.0.0.1:8082 ", $"server 127.0.0.1:{nodeB.Port} "),
            ("server 127.0.0.1:8083 max_fails=1 fail_timeout=5s;", ""));
        await using var browser = Browser.Start();
        browser.Open($"http://127.0.0.1:{nginx.Port}/");
        var opened = await browser.WaitForAsync(p => p.State == "open", PageTimeout);
        Assert.That(opened.State, Is.EqualTo("open"), $"the page's stream through nginx; the page showed: {opened}; nginx log: {nginx.ErrorLog()}");

        // nginx's round robin decides which node has the stream: ask the nodes.
        int[] streams = [];
        bool placed = await Polling.UntilAsync(async () =>
            (streams = await Task.WhenAll(nodeA.SubscribersAsync(cancellationToken), nodeB.SubscribersAsync(cancellationToken))).Sum() == 1, PageTimeout);
        Assert.That(placed, Is.True, $"one stream on the two nodes; rawsse_subscribers of A and B: [{string.Join(", ", streams)}]");
        var (holder, survivor) = streams[0] == 1 ? (nodeA, nodeB) : (nodeB, nodeA);

        // Act: a paced series on the survivor; once the page lists some of it, SIGKILL the node with the page's stream.
        var clock = Stopwatch.StartNew();
        var series = Publishing.SeriesAsync(survivor.Port, Hub.DefaultTopic, "n", Events, PageTimeout, PublishPause, cancellationToken);
        var before = await browser.WaitForAsync(p => p.Ids.Count >= BeforeKill || series.IsFaulted, PageTimeout);
        Assert.That(before.Ids, Has.Count.GreaterThanOrEqualTo(BeforeKill), $"events on the page before the kill (series: {series.Status}); the page showed: {before}");
        holder.Kill();
        var killedAt = clock.Elapsed;
        var down = await browser.WaitForAsync(p => p.State != "open", PageTimeout);
        var acked = await series.WaitAsync(PageTimeout * 2, cancellationToken);
        var after = await browser.WaitForAsync(p => p.Ids.Count >= Events, PageTimeout);
        var allShownAt = clock.Elapsed;
        int onSurvivor = await survivor.SubscribersAsync(cancellationToken);

        // Assert
        int refusals = nginx.ErrorLog().Split('\n').Count(l => l.Contains("connect() failed", StringComparison.Ordinal));
        TestContext.Out.WriteLine($"killed the node on {holder.Port} at {killedAt.TotalSeconds:F1} s with {before.Ids.Count} events on the page; " +
            $"all {Events} shown at {allShownAt.TotalSeconds:F1} s; nginx tried the dead node {refusals} time(s) before the survivor");
        var ids = after.Ids;
        var sequences = ids.Select(PageSnapshot.SequenceOf).ToList();
        List<long> contiguous = sequences.Count == 0 ? [] : [.. Enumerable.Range(0, sequences.Count).Select(i => sequences[0] + i)];
        var messages = after.Events.Where(e => e.IsMessage).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(holder.HasExited, Is.True, "the node with the page's stream was killed");
            Assert.That(down.State, Is.Not.EqualTo("open"), $"the page saw its stream end; it showed: {down}");
            Assert.That(after.State, Is.EqualTo("open"), $"the page reconnected; it showed: {after}; nginx log: {nginx.ErrorLog()}");
            Assert.That(onSurvivor, Is.EqualTo(1), "the reconnected stream is on the survivor");
            Assert.That(after.Events.Where(e => e.ClassName == "reset"), Is.Empty, $"no reset notice: the resume lost nothing; the page showed: {after}");
            Assert.That(ids, Is.EqualTo(acked.Select(a => a.Id)), $"every acknowledged id once, in order; arrived: [{string.Join(", ", ids)}]");
            Assert.That(messages.Select(e => e.Text), Is.EqualTo(acked.Select(a => a.Data)), "each event's data, in order");
            Assert.That(sequences, Is.EqualTo(contiguous), $"the stream's positions with no gap: [{string.Join(", ", ids)}]");
            Assert.That(after.CountValue, Is.EqualTo(Events), "the page's own count: each event once");
        });
    }
}
