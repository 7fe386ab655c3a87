using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;
using RawSse.Sse;
using RawSse.Store;
using RawSse.Transport;

namespace RawSse.Metrics;

/// <summary>
/// The server's figures, kept once as plain counters and shown two ways: as System.Diagnostics.Metrics
/// instruments on the "RawSse" meter (so <c>dotnet-counters monitor -n RawSse --counters RawSse</c> works)
/// and as Prometheus text at <c>GET /metrics</c>.
/// </summary>
internal sealed class ServerMetrics : IDisposable
{
    public const string MeterName = "RawSse";

    private readonly Meter _meter = new(MeterName);
    private readonly Func<int> _connections;
    private readonly Hub _hub;
    private readonly IReadOnlyList<string> _namedTopics;
    private readonly IEventLogStatus? _store;
    private readonly long[] _disconnects = new long[DisconnectReasons.Count];
    private readonly ConcurrentDictionary<int, long> _rejections = new();

    private long _connectionsAccepted;
    private long _connectionsRefused;

    /// <param name="namedTopics">The only topics whose names may appear (a bounded, configured list): a topic name can be private.</param>
    public ServerMetrics(Func<int> connections, Hub hub, IReadOnlyList<string> namedTopics)
    {
        _connections = connections;
        _hub = hub;
        _namedTopics = namedTopics;
        _store = hub.Log as IEventLogStatus;
        _meter.CreateObservableUpDownCounter("rawsse.connections", () => _connections(), "{connection}", "Open TCP connections");
        _meter.CreateObservableUpDownCounter("rawsse.subscribers", () => _hub.SubscriberCount, "{subscriber}", "Open SSE streams");
        _meter.CreateObservableUpDownCounter("rawsse.topics", () => _hub.TopicCount, "{topic}", "Live topics");
        _meter.CreateObservableUpDownCounter("rawsse.replay.bytes", () => _hub.ReplayBytes, "By", "Bytes kept for resumes");
        _meter.CreateObservableUpDownCounter("rawsse.topic.subscribers", ObserveNamedTopics, "{subscriber}", "Open SSE streams of the topics named by --metrics-topics");
        _meter.CreateObservableCounter("rawsse.events.published", () => EventsPublished, "{event}", "Events published");
        _meter.CreateObservableCounter("rawsse.deliveries", () => Deliveries, "{event}", "Events queued to subscribers (including replays)");
        _meter.CreateObservableCounter("rawsse.drops", () => Drops, "{event}", "Events dropped by the drop-oldest policy");
        _meter.CreateObservableCounter("rawsse.disconnects", ObserveDisconnects, "{connection}", "Streams ended, by reason");
        _meter.CreateObservableCounter("rawsse.replay.hits", () => ReplayHits, "{stream}", "Resumes served from the replay ring");
        _meter.CreateObservableCounter("rawsse.replay.misses", () => ReplayMisses, "{stream}", "Resumes that got a reset event");
        _meter.CreateObservableCounter("rawsse.connections.accepted", () => Read(ref _connectionsAccepted), "{connection}", "Connections accepted");
        _meter.CreateObservableCounter("rawsse.connections.refused", () => Read(ref _connectionsRefused), "{connection}", "Connections refused at the connection limit");
        _meter.CreateObservableCounter("rawsse.requests.rejected", ObserveRejections, "{request}", "Requests rejected, by status");
        if (_store is { } store)
        {
            // A log shared with other nodes (NATS JetStream) says how this node stands against it; one of this process alone has no such figures.
            _meter.CreateObservableGauge("rawsse.store.ready", () => store.IsReady ? 1 : 0, "1", "Connected to the store and caught up (1) or not (0)");
            _meter.CreateObservableGauge("rawsse.store.lag", () => store.Lag, "{event}", "Events in the store this node has not applied yet");
            _meter.CreateObservableCounter("rawsse.store.reconnects", () => store.Reconnects, "{reconnect}", "Times the connection to the store was re-established");
        }
    }

    public long EventsPublished => _hub.Counters.EventsPublished;
    public long Deliveries => _hub.Counters.Deliveries;
    public long Drops => _hub.Counters.Drops;
    public long ReplayHits => _hub.Counters.ReplayHits;
    public long ReplayMisses => _hub.Counters.ReplayMisses;

    public long Disconnects(DisconnectReason reason) => Volatile.Read(ref _disconnects[(int)reason]);

    public long Rejections(int status) => _rejections.TryGetValue(status, out var n) ? n : 0;

    public void Accepted() => Interlocked.Increment(ref _connectionsAccepted);
    public void Refused() => Interlocked.Increment(ref _connectionsRefused);
    public void Disconnected(DisconnectReason reason) => Interlocked.Increment(ref _disconnects[(int)reason]);
    public void Rejected(int status) => _rejections.AddOrUpdate(status, 1, static (_, n) => n + 1);

    /// <summary>The Prometheus text exposition format, version 0.0.4.</summary>
    public string ToPrometheusText()
    {
        var text = new StringBuilder(2048);
        Gauge(text, "rawsse_connections", "Open TCP connections.", _connections());
        Gauge(text, "rawsse_subscribers", "Open SSE streams.", _hub.SubscriberCount);
        Gauge(text, "rawsse_topics", "Live topics: subscribed to, or keeping events.", _hub.TopicCount);
        Gauge(text, "rawsse_replay_bytes", "Bytes kept for resumes across topics.", _hub.ReplayBytes);
        if (_namedTopics.Count > 0)
        {
            text.Append("# HELP rawsse_topic_subscribers Open SSE streams of the topics named by --metrics-topics.\n# TYPE rawsse_topic_subscribers gauge\n");
            foreach (var topic in _namedTopics)
            {
                text.Append("rawsse_topic_subscribers{topic=\"").Append(EscapeLabel(topic)).Append("\"} ").Append(_hub.CountSubscribers(topic)).Append('\n');
            }
        }

        Counter(text, "rawsse_events_published_total", "Events published.", EventsPublished);
        Counter(text, "rawsse_deliveries_total", "Events queued to subscribers, replays included.", Deliveries);
        Counter(text, "rawsse_drops_total", "Events dropped by the drop-oldest policy.", Drops);
        Counter(text, "rawsse_replay_hits_total", "Resumes served from the replay ring.", ReplayHits);
        Counter(text, "rawsse_replay_misses_total", "Resumes answered with a reset event.", ReplayMisses);
        Counter(text, "rawsse_connections_accepted_total", "Connections accepted.", Read(ref _connectionsAccepted));
        Counter(text, "rawsse_connections_refused_total", "Connections refused at the connection limit.", Read(ref _connectionsRefused));
        text.Append("# HELP rawsse_disconnects_total Connections ended, by reason.\n# TYPE rawsse_disconnects_total counter\n");
        for (int i = 0; i < DisconnectReasons.Count; i++)
        {
            text.Append("rawsse_disconnects_total{reason=\"").Append(DisconnectReasons.Label((DisconnectReason)i)).Append("\"} ")
                .Append(Volatile.Read(ref _disconnects[i])).Append('\n');
        }

        text.Append("# HELP rawsse_requests_rejected_total Requests rejected, by status.\n# TYPE rawsse_requests_rejected_total counter\n");
        foreach (var (status, count) in _rejections.ToArray().OrderBy(p => p.Key)) // a snapshot: statuses are added concurrently
        {
            text.Append("rawsse_requests_rejected_total{status=\"").Append(status).Append("\"} ").Append(count).Append('\n');
        }

        Histogram(text, "rawsse_delivery_delay_seconds", "Time from the hub accepting an event to the completion of the send that carried it, one sample per send (its oldest event).",
            _hub.Counters.DeliveryDelay);
        Counter(text, "process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", ProcessFigures.CpuSeconds);
        Gauge(text, "process_resident_memory_bytes", "Resident memory size in bytes.", ProcessFigures.ResidentBytes);
        if (ProcessFigures.TryCountOpenFds(out long openFds))
        {
            Gauge(text, "process_open_fds", "Number of open file descriptors.", openFds);
        }

        if (OpenFileLimit.TryRead(out long maxFds))
        {
            Gauge(text, "process_max_fds", "Maximum number of open file descriptors.", maxFds);
        }

        Gauge(text, "process_start_time_seconds", "Start time of the process since unix epoch in seconds.", ProcessFigures.StartTimeSeconds);
        Head(text, "rawsse_build_info", "The server's version and runtime; always 1.", "gauge")
            .Append("rawsse_build_info{version=\"").Append(EscapeLabel(ProcessFigures.Version))
            .Append("\",runtime=\"").Append(EscapeLabel(ProcessFigures.Runtime)).Append("\"} 1\n");

        // The store's figures come last: a node without a store shows none of them.
        if (_store is { } store)
        {
            Gauge(text, "rawsse_store_ready", "Connected to the store and caught up (1) or not (0).", store.IsReady ? 1 : 0);
            Gauge(text, "rawsse_store_lag", "Events in the store this node has not applied yet.", store.Lag);
            Counter(text, "rawsse_store_reconnects_total", "Times the connection to the store was re-established.", store.Reconnects);
            Histogram(text, "rawsse_store_append_seconds", "Time from an append's start to the store's acknowledgement.", store.AppendLatency);
        }

        return text.ToString();
    }

    public void Dispose() => _meter.Dispose();

    private static long Read(ref long field) => Interlocked.Read(ref field);

    private IEnumerable<Measurement<int>> ObserveNamedTopics()
    {
        foreach (var topic in _namedTopics)
        {
            yield return new Measurement<int>(_hub.CountSubscribers(topic), new KeyValuePair<string, object?>("topic", topic));
        }
    }

    private IEnumerable<Measurement<long>> ObserveDisconnects()
    {
        for (int i = 0; i < DisconnectReasons.Count; i++)
        {
            yield return new Measurement<long>(Volatile.Read(ref _disconnects[i]),
                new KeyValuePair<string, object?>("reason", DisconnectReasons.Label((DisconnectReason)i)));
        }
    }

    private IEnumerable<Measurement<long>> ObserveRejections()
    {
        foreach (var (status, count) in _rejections)
        {
            yield return new Measurement<long>(count, new KeyValuePair<string, object?>("status", status.ToString(CultureInfo.InvariantCulture)));
        }
    }

    private static void Gauge(StringBuilder text, string name, string help, long value) =>
        Head(text, name, help, "gauge").Append(name).Append(' ').Append(value).Append('\n');

    private static void Gauge(StringBuilder text, string name, string help, double value) =>
        Head(text, name, help, "gauge").Append(name).Append(' ').Append(value.ToString("R", CultureInfo.InvariantCulture)).Append('\n');

    private static void Counter(StringBuilder text, string name, string help, long value) =>
        Head(text, name, help, "counter").Append(name).Append(' ').Append(value).Append('\n');

    private static void Counter(StringBuilder text, string name, string help, double value) =>
        Head(text, name, help, "counter").Append(name).Append(' ').Append(value.ToString("R", CultureInfo.InvariantCulture)).Append('\n');

    private static StringBuilder Head(StringBuilder text, string name, string help, string type) =>
        text.Append("# HELP ").Append(name).Append(' ').Append(help).Append("\n# TYPE ").Append(name).Append(' ').Append(type).Append('\n');

    private static void Histogram(StringBuilder text, string name, string help, LatencyHistogram histogram)
    {
        Head(text, name, help, "histogram");
        var bounds = histogram.Bounds;
        long cumulative = 0;
        for (int i = 0; i < bounds.Count; i++)
        {
            cumulative = histogram.CumulativeCount(i);
            text.Append(name).Append("_bucket{le=\"").Append(bounds[i].ToString("R", CultureInfo.InvariantCulture)).Append("\"} ").Append(cumulative).Append('\n');
        }

        // A sample counts in its bucket before the total: one recorded while this runs may show in the buckets and
        // not yet in Count, and +Inf must not be below a bucket.
        long count = Math.Max(histogram.Count, cumulative);
        text.Append(name).Append("_bucket{le=\"+Inf\"} ").Append(count).Append('\n')
            .Append(name).Append("_sum ").Append(histogram.SumSeconds.ToString("R", CultureInfo.InvariantCulture)).Append('\n')
            .Append(name).Append("_count ").Append(count).Append('\n');
    }

    // Prometheus label values escape backslash, double quote and line feed.
    private static string EscapeLabel(string value) =>
        value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
}
