using System.Diagnostics;
using System.Diagnostics.Metrics;
using RawSse.Sse;

namespace RawSse.Tests;

/// <summary>
/// The figures of a log shared with other nodes (<see cref="RawSse.Store.IEventLogStatus"/>) in <c>GET /metrics</c>
/// and on the RawSse meter: readiness, lag, reconnects and the append latency as a Prometheus histogram.
/// </summary>
[TestFixture]
public sealed class StoreMetricsTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    [Test]
    public async Task GetMetrics_LogWithStatus_StoreGaugesCounterAndHistogramExact()
    {
        // Arrange: three appends, at 1/256 s (le 0.005), exactly 0.25 s (le 0.25: a bound is inclusive) and 20 s (+Inf only).
        Assume.That(Stopwatch.Frequency % 256, Is.Zero, "the samples below are whole ticks");
        var log = new StatusEventLog { IsReady = false, Lag = 5, Reconnects = 2 };
        log.AppendLatency.Record(Stopwatch.Frequency / 256);
        log.AppendLatency.Record(Stopwatch.Frequency / 4);
        log.AppendLatency.Record(Stopwatch.Frequency * 20);
        await using var server = TestServer.Start(hub: new Hub(HubLimits.Default, log));

        // Act
        string text = await GetMetricsAsync(server);

        // Assert
        const string Expected =
            "# HELP rawsse_store_ready Connected to the store and caught up (1) or not (0).\n# TYPE rawsse_store_ready gauge\nrawsse_store_ready 0\n" +
            "# HELP rawsse_store_lag Events in the store this node has not applied yet.\n# TYPE rawsse_store_lag gauge\nrawsse_store_lag 5\n" +
            "# HELP rawsse_store_reconnects_total Times the connection to the store was re-established.\n# TYPE rawsse_store_reconnects_total counter\nrawsse_store_reconnects_total 2\n" +
            "# HELP rawsse_store_append_seconds Time from an append's start to the store's acknowledgement.\n# TYPE rawsse_store_append_seconds histogram\n" +
            "rawsse_store_append_seconds_bucket{le=\"0.0005\"} 0\n" +
            "rawsse_store_append_seconds_bucket{le=\"0.001\"} 0\n" +
            "rawsse_store_append_seconds_bucket{le=\"0.0025\"} 0\n" +
            "rawsse_store_append_seconds_bucket{le=\"0.005\"} 1\n" +
            "rawsse_store_append_seconds_bucket{le=\"0.01\"} 1\n" +
            "rawsse_store_append_seconds_bucket{le=\"0.025\"} 1\n" +
            "rawsse_store_append_seconds_bucket{le=\"0.05\"} 1\n" +
            "rawsse_store_append_seconds_bucket{le=\"0.1\"} 1\n" +
            "rawsse_store_append_seconds_bucket{le=\"0.25\"} 2\n" +
            "rawsse_store_append_seconds_bucket{le=\"0.5\"} 2\n" +
            "rawsse_store_append_seconds_bucket{le=\"1\"} 2\n" +
            "rawsse_store_append_seconds_bucket{le=\"2.5\"} 2\n" +
            "rawsse_store_append_seconds_bucket{le=\"5\"} 2\n" +
            "rawsse_store_append_seconds_bucket{le=\"10\"} 2\n" +
            "rawsse_store_append_seconds_bucket{le=\"+Inf\"} 3\n" +
            "rawsse_store_append_seconds_sum 20.25390625\n" +
            "rawsse_store_append_seconds_count 3\n";
        int start = text.IndexOf("# HELP rawsse_store_", StringComparison.Ordinal);
        Assert.That(start, Is.GreaterThanOrEqualTo(0), text);
        Assert.That(Describe.Escape(text[start..]), Is.EqualTo(Describe.Escape(Expected)));
    }

    [Test]
    public async Task GetMetrics_StatusChanges_FiguresFollow()
    {
        // Arrange
        var log = new StatusEventLog { IsReady = false, Lag = 40 };
        await using var server = TestServer.Start(hub: new Hub(HubLimits.Default, log));
        var before = (await GetMetricsAsync(server)).Split('\n');

        // Act
        log.IsReady = true;
        log.Lag = 0;
        log.Reconnects = 1;
        var after = (await GetMetricsAsync(server)).Split('\n');

        // Assert
        Assert.That(before, Does.Contain("rawsse_store_ready 0").And.Contain("rawsse_store_lag 40").And.Contain("rawsse_store_reconnects_total 0"));
        Assert.That(after, Does.Contain("rawsse_store_ready 1").And.Contain("rawsse_store_lag 0").And.Contain("rawsse_store_reconnects_total 1"));
    }

    [TestCase(null)]
    [TestCase("memory")]
    public async Task GetMetrics_LogWithoutStatus_NoStoreFigures(string? store)
    {
        await using var server = TestServer.Start(o => o.Store = store);

        string text = await GetMetricsAsync(server);

        Assert.That(text, Does.Contain("rawsse_connections ").And.Not.Contain("rawsse_store_"));
    }

    [Test]
    public async Task Meter_LogWithStatus_StoreInstrumentsReadTheLog()
    {
        // Arrange
        var log = new StatusEventLog { IsReady = true, Lag = 3, Reconnects = 4 };
        await using var server = TestServer.Start(hub: new Hub(HubLimits.Default, log));
        var readings = new Dictionary<string, long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "RawSse" && instrument.Name.StartsWith("rawsse.store.", StringComparison.Ordinal))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, _, _) => readings[instrument.Name] = value);
        listener.SetMeasurementEventCallback<int>((instrument, value, _, _) => readings[instrument.Name] = value);
        listener.Start();

        // Act
        listener.RecordObservableInstruments();

        // Assert
        Assert.That(readings, Is.EquivalentTo(new Dictionary<string, long> { ["rawsse.store.ready"] = 1, ["rawsse.store.lag"] = 3, ["rawsse.store.reconnects"] = 4 }));
    }

    /// <summary>The body of <c>GET /metrics</c>, which must answer 200.</summary>
    internal static async Task<string> GetMetricsAsync(TestServer server)
    {
        using var client = await server.ConnectAsync();
        await client.SendAsync("GET /metrics HTTP/1.1\r\nHost: test\r\n\r\n");
        var response = await client.ReadResponseAsync(timeout: Timeout);
        Assert.That(response.Status, Is.EqualTo(200), Describe.Response(response));
        return response.BodyText;
    }
}
