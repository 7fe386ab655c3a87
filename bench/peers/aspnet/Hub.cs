using System.Globalization;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Threading.Channels;

namespace AspnetPeer;

/// <summary>
/// Topics and their subscribers, the usual way: a bounded Channel per subscriber, written without waiting
/// (a full channel drops the new event), read by the subscriber's IAsyncEnumerable.
/// </summary>
internal sealed class Hub(int buffer)
{
    public const string DefaultTopic = "default";

    private readonly Lock _lock = new();
    private readonly Dictionary<string, HashSet<Channel<SseItem<string>>>> _topics = []; // guarded by _lock
    private long _sequence;                                                            // guarded by _lock

    public async IAsyncEnumerable<SseItem<string>> Subscribe(string[] topics, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var channel = Channel.CreateBounded<SseItem<string>>(new BoundedChannelOptions(buffer)
        {
            FullMode = BoundedChannelFullMode.DropWrite,
            SingleReader = true,
        });

        lock (_lock)
        {
            foreach (var topic in topics)
            {
                if (!_topics.TryGetValue(topic, out var set))
                {
                    _topics[topic] = set = [];
                }

                set.Add(channel);
            }
        }

        try
        {
            // The response head leaves with the first item: this one tells the load generator (and a browser)
            // that the stream is open, and sets the reconnection time as RawSse's first frame does.
            yield return new SseItem<string>("", "ready") { ReconnectionInterval = TimeSpan.FromSeconds(2) };
            await foreach (var item in channel.Reader.ReadAllAsync(cancellationToken))
            {
                yield return item;
            }
        }
        finally
        {
            lock (_lock)
            {
                foreach (var topic in topics)
                {
                    if (_topics.TryGetValue(topic, out var set))
                    {
                        set.Remove(channel);
                    }
                }
            }
        }
    }

    public string Publish(string[] topics, Func<long, (string Data, string? Type, string? Id, TimeSpan? Retry)> build)
    {
        lock (_lock)
        {
            long sequence = ++_sequence;
            var (data, type, id, retry) = build(sequence);
            id ??= sequence.ToString(CultureInfo.InvariantCulture);
            var item = new SseItem<string>(data, type) { EventId = id, ReconnectionInterval = retry };
            if (topics.Length == 1)
            {
                if (_topics.TryGetValue(topics[0], out var set))
                {
                    foreach (var channel in set)
                    {
                        channel.Writer.TryWrite(item);
                    }
                }
            }
            else
            {
                var seen = new HashSet<Channel<SseItem<string>>>();
                foreach (var topic in topics)
                {
                    if (_topics.TryGetValue(topic, out var set))
                    {
                        foreach (var channel in set)
                        {
                            if (seen.Add(channel))
                            {
                                channel.Writer.TryWrite(item);
                            }
                        }
                    }
                }
            }

            return id;
        }
    }
}
