using RawSse.Sse;

namespace RawSse.Tests;

/// <summary>
/// <c>GET /metrics</c> as a Prometheus server reads it: every line parsed (<see cref="PrometheusText"/>), the standard
/// process figures, rawsse_build_info, and the delivery-delay histogram after a stream has received events.
/// </summary>
[TestFixture]
public sealed class ProcessMetricsTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    [Test]
    public async Task GetMetrics_AfterStreamReceivesEvents_WholeTextValidAndProcessFiguresPlausible()
    {
        // Arrange: three events delivered to one stream.
        await using var server = TestServer.StartWithoutHeartbeats();
        using var stream = await SseStream.OpenStreamAsync(server, "/sse?topic=m", Timeout, waitForSubscriber: true);
        using var publisher = await server.ConnectAsync();
        for (int i = 0; i < 3; i++)
        {
            var published = await Publishing.SendAsync(publisher, $"topic=m&data=e{i}", Timeout);
            Assert.That(published.Status, Is.EqualTo(200), Describe.Response(published));
            await stream.ReadUntilAsync($"data: e{i}\n\n", Timeout);
        }

        // Act: the send that carried the last frame may complete just after the client read it.
        PrometheusText? metrics = null;
        bool delivered = await Polling.UntilAsync(async () =>
        {
            metrics = PrometheusText.Parse(await StoreMetricsTests.GetMetricsAsync(server));
            return metrics.Samples.Any(s => s.Name == "rawsse_delivery_delay_seconds_count" && s.Value >= 3);
        }, Timeout);

        // Assert
        Assert.That(metrics!.Problems, Is.Empty, "the exposition as a whole");
        double now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;
        var buildInfo = metrics.Samples.Single(s => s.Name == "rawsse_build_info");
        Assert.Multiple(() =>
        {
            Assert.That(delivered, Is.True, "rawsse_delivery_delay_seconds_count reached the 3 sends that carried an event");
            Assert.That(metrics.Types, Does.ContainKey("rawsse_delivery_delay_seconds").WithValue("histogram"));
            Assert.That(metrics.Types, Does.ContainKey("process_cpu_seconds_total").WithValue("counter"));
            Assert.That(metrics.Types, Does.ContainKey("process_resident_memory_bytes").WithValue("gauge"));
            Assert.That(metrics.Types, Does.ContainKey("process_open_fds").WithValue("gauge"));
            Assert.That(metrics.Types, Does.ContainKey("process_max_fds").WithValue("gauge"));
            Assert.That(metrics.Types, Does.ContainKey("process_start_time_seconds").WithValue("gauge"));
            Assert.That(metrics.Types, Does.ContainKey("rawsse_build_info").WithValue("gauge"));
            Assert.That(metrics.Single("rawsse_delivery_delay_seconds_sum"), Is.GreaterThan(0).And.LessThan(Timeout.TotalSeconds * 3),
                "three delays, each below the test's timeout");
            Assert.That(metrics.Single("process_cpu_seconds_total"), Is.GreaterThan(0));
            Assert.That(metrics.Single("process_resident_memory_bytes"), Is.GreaterThan(1_000_000));
            Assert.That(metrics.Single("process_open_fds"), Is.GreaterThan(3), "stdin, stdout, stderr and at least the listening socket");
            Assert.That(metrics.Single("process_max_fds"), Is.GreaterThanOrEqualTo(metrics.Single("process_open_fds")));
            Assert.That(metrics.Single("process_start_time_seconds"), Is.InRange(now - 3600, now), "started within the last hour");
            Assert.That(buildInfo.Value, Is.EqualTo(1));
            Assert.That(buildInfo.Label("version"), Is.Not.Empty);
            Assert.That(buildInfo.Label("runtime"), Does.StartWith(".NET"));
        });
    }

    [Test]
    public async Task GetMetrics_NoEventYet_DeliveryHistogramPresentAndEmpty()
    {
        // Arrange: a stream gets its head and nothing else; the head is no publish and is not measured.
        await using var server = TestServer.StartWithoutHeartbeats();
        using var stream = await SseStream.OpenStreamAsync(server, "/sse?topic=m", Timeout, waitForSubscriber: true);

        // Act
        var metrics = PrometheusText.Parse(await StoreMetricsTests.GetMetricsAsync(server));

        // Assert
        Assert.That(metrics.Problems, Is.Empty);
        Assert.That(metrics.Single("rawsse_delivery_delay_seconds_count"), Is.Zero);
        Assert.That(metrics.Samples.Count(s => s.Name == "rawsse_delivery_delay_seconds_bucket"), Is.EqualTo(HubCounters.DeliveryDelayBounds.Count + 1));
    }

    [Test]
    public void Parse_MalformedExposition_ReportsEveryProblem()
    {
        // Arrange: a sample of no TYPE, buckets that fall, +Inf unequal to _count, a bad escape and a bad value.
        const string Text =
            "untyped_sample 1\n" +
            "# TYPE h histogram\n" +
            "h_bucket{le=\"0.1\"} 5\n" +
            "h_bucket{le=\"1\"} 4\n" +
            "h_bucket{le=\"+Inf\"} 6\n" +
            "h_sum 2\n" +
            "h_count 7\n" +
            "# TYPE g gauge\n" +
            "g{a=\"\\x\"} 1\n" +
            "g one\n";

        // Act
        var parsed = PrometheusText.Parse(Text);

        // Assert
        Assert.That(parsed.Problems, Has.Count.EqualTo(5), string.Join("\n", parsed.Problems));
        Assert.That(parsed.Problems, Has.Some.Contains("untyped_sample has no TYPE"));
        Assert.That(parsed.Problems, Has.Some.Contains("le=1 is not after the previous bucket, or its count 4 fell"));
        Assert.That(parsed.Problems, Has.Some.Contains("_count (7) is not the +Inf bucket's 6"));
        Assert.That(parsed.Problems, Has.Some.Contains("malformed labels"));
        Assert.That(parsed.Problems, Has.Some.Contains("malformed value"));
    }
}
