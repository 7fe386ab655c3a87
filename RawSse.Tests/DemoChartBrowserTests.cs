using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using RawSse.Sse;

namespace RawSse.Tests;

/// <summary>
/// The demo page's "Server at a glance" chart in a real headless Chromium: it polls /metrics, and shows the open
/// streams, the events published per second and the delivery delay the page measures, as values and sparklines.
/// </summary>
[TestFixture]
[Category("Browser")]
public sealed class DemoChartBrowserTests
{
    private const string ScreenshotCopy = "/tmp/rawsse-demo-chart.png";
    private const int OtherSubscribers = 3;
    // Enough one-second samples for the sparklines to show a line, not a dot.
    private const int MinimumSamples = 6;
    private static readonly TimeSpan TickInterval = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan ChartTimeout = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan StreamTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan PublishEvery = TimeSpan.FromMilliseconds(300);

    private const string GlanceScript = """
        function read(name) {
          var root = document.getElementById('glance-' + name);
          if (!root) return null;
          var value = root.querySelector('.value');
          var line = root.querySelector('.line');
          return {
            value: value ? value.getAttribute('data-value') : null,
            text: value ? value.textContent : null,
            path: line ? (line.getAttribute('d') || '') : ''
          };
        }
        var status = document.getElementById('glance-status');
        return JSON.stringify({
          status: status ? status.textContent : null,
          subscribers: read('subscribers'),
          events: read('events'),
          delay: read('delay')
        });
        """;

    private static readonly JsonSerializerOptions s_json = new() { PropertyNameCaseInsensitive = true };

    [Test]
    [CancelAfter(45_000)]
    public async Task GlanceChart_TickerAndSubscribers_ShowsSubscribersRateAndDelay()
    {
        // Arrange: the ticker, three streams besides the page's, and a message published now and then.
        await using var server = TestServer.Start(o =>
        {
            o.Root = RepoPaths.Public;
            o.TickInterval = TickInterval;
        });
        var streams = new List<RawClient>();
        try
        {
            for (int i = 0; i < OtherSubscribers; i++)
            {
                streams.Add(await SseStream.OpenStreamAsync(server, "/sse", StreamTimeout, waitForSubscriber: true));
            }

            await using var browser = Browser.Start();

            // Act
            browser.Open($"http://127.0.0.1:{server.Port}/");
            var glance = await WaitForChartAsync(browser, server.Hub);
            string path = Path.Combine(TestContext.CurrentContext.WorkDirectory, "rawsse-demo-chart.png");
            browser.SaveScreenshot(path);
            TestContext.AddTestAttachment(path, "demo page with the live chart");
            File.Copy(path, ScreenshotCopy, overwrite: true);
            TestContext.Out.WriteLine($"chart: {glance}; screenshot {path} (copy: {ScreenshotCopy})");

            // Assert
            Assert.Multiple(() =>
            {
                Assert.That(glance.Subscribers.Number, Is.GreaterThanOrEqualTo(OtherSubscribers + 1), $"subscribers: the streams and the page's own; chart: {glance}");
                Assert.That(glance.Events.Number, Is.GreaterThan(0), $"events per second from rawsse_events_published_total; chart: {glance}");
                Assert.That(glance.Delay.Number, Is.GreaterThanOrEqualTo(0).And.LessThan(1000), $"the delay this page measures from the ticks, in ms; chart: {glance}");
                Assert.That(glance.Delay.Text, Is.Not.EqualTo("–"), $"a delay is shown; chart: {glance}");
                Assert.That(glance.Status, Does.StartWith("from /metrics"), $"the chart's status line; chart: {glance}");
                Assert.That(new[] { glance.Subscribers, glance.Events, glance.Delay }.Select(s => s.Segments),
                    Is.All.GreaterThanOrEqualTo(MinimumSamples - 1), $"line segments in each sparkline; chart: {glance}");
            });
        }
        finally
        {
            streams.ForEach(s => s.Dispose());
        }
    }

    // Reads the chart until every value is there and each line has enough samples, publishing a message meanwhile;
    // returns the last reading either way, for the assertions to show.
    private static async Task<Glance> WaitForChartAsync(Browser browser, Hub hub)
    {
        var stopwatch = Stopwatch.StartNew();
        int published = 0;
        while (true)
        {
            var glance = Read(browser);
            if (glance.IsComplete(MinimumSamples) || stopwatch.Elapsed > ChartTimeout)
            {
                return glance;
            }

            hub.Publish(Hub.DefaultTopic, new SseEvent(string.Create(CultureInfo.InvariantCulture, $"hello {++published} from the chart test")));
            await Task.Delay(PublishEvery);
        }
    }

    private static Glance Read(Browser browser)
    {
        var json = browser.Driver.ExecuteScript(GlanceScript) as string
            ?? throw new InvalidOperationException("the glance script returned no JSON");
        return JsonSerializer.Deserialize<Glance>(json, s_json)
            ?? throw new InvalidOperationException($"the glance script returned '{json}'");
    }

    private sealed record Glance(string? Status, Spark Subscribers, Spark Events, Spark Delay)
    {
        public bool IsComplete(int samples) =>
            Subscribers.Number >= OtherSubscribers + 1 && Events.Number > 0 && Delay.Number >= 0 &&
            Subscribers.Segments >= samples - 1 && Events.Segments >= samples - 1 && Delay.Segments >= samples - 1;

        public override string ToString() => $"status '{Status}', subscribers {Subscribers}, events/s {Events}, delay {Delay}";
    }

    private sealed record Spark(string? Value, string? Text, string Path)
    {
        /// <summary>data-value as a number, or -1 when the chart has none yet.</summary>
        public double Number => double.TryParse(Value, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v : -1;

        /// <summary>Line segments drawn: one fewer than the samples in an unbroken line.</summary>
        public int Segments => Path.Count(c => c == 'L');

        public override string ToString() => $"'{Text}' (data-value '{Value}', {Segments} segments)";
    }
}
