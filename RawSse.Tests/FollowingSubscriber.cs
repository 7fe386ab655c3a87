using System.Net;
using System.Net.Sockets;
using System.Text;

namespace RawSse.Tests;

/// <summary>
/// A subscriber that behaves as <c>EventSource</c> does behind a load balancer: it reads <c>/sse?topic=...</c>, keeps
/// every event (id, type, data) it receives, and when the stream ends or the node is gone it reconnects, after a short
/// retry, to whichever node <c>pick</c> names then, with the last id it received as <c>Last-Event-ID</c>.
/// </summary>
internal sealed class FollowingSubscriber : IAsyncDisposable
{
    private static readonly TimeSpan s_retry = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan s_connectTimeout = TimeSpan.FromSeconds(5);

    private readonly Func<int> _pick;
    private readonly string _topic;
    private readonly Lock _lock = new();
    private readonly List<(string Id, string? Type, string Data)> _events = []; // guarded by _lock
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly TaskCompletionSource _firstOpen = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private string? _lastId;   // guarded by _lock
    private int _opens;        // guarded by _lock

    public FollowingSubscriber(Func<int> pick, string topic)
    {
        _pick = pick;
        _topic = topic;
        _loop = Task.Run(() => RunAsync(_stop.Token));
    }

    public IReadOnlyList<(string Id, string? Type, string Data)> Events
    {
        get { lock (_lock) { return [.. _events]; } }
    }

    /// <summary>Streams opened (200) so far: 1 until the first reconnect.</summary>
    public int Opens
    {
        get { lock (_lock) { return _opens; } }
    }

    /// <summary>Completes once the first stream is open (its head and retry frame read).</summary>
    public Task Opened => _firstOpen.Task;

    public bool Has(string id)
    {
        lock (_lock)
        {
            return _events.Exists(e => e.Id == id);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        await _loop;
        _stop.Dispose();
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await ReadOneStreamAsync(_pick(), cancellationToken);
            }
            catch (Exception ex) when (ex is IOException or SocketException or TimeoutException or FormatException or ObjectDisposedException)
            {
                // The node went away: as a browser does, try again shortly.
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }

            try
            {
                await Task.Delay(s_retry, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task ReadOneStreamAsync(int port, CancellationToken cancellationToken)
    {
        using var client = await RawClient.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), timeout: s_connectTimeout);
        string? lastId;
        lock (_lock)
        {
            lastId = _lastId;
        }

        string header = lastId is null ? "" : $"Last-Event-ID: {lastId}\r\n";
        await client.SendAsync($"GET /sse?topic={Uri.EscapeDataString(_topic)} HTTP/1.1\r\nHost: localhost\r\n{header}\r\n");
        var head = await client.ReadResponseAsync(expectBody: false, s_connectTimeout);
        if (head.Status != 200)
        {
            return; // not ready yet, or refusing: retry
        }

        var text = new StringBuilder(Encoding.UTF8.GetString(client.TakeBuffered()));
        var buffer = new byte[16 * 1024];
        bool opened = false;
        while (true)
        {
            string all = text.ToString();
            int end = all.LastIndexOf("\n\n", StringComparison.Ordinal);
            if (end >= 0)
            {
                Take(all[..(end + 2)]);
                text.Remove(0, end + 2);
                if (!opened)
                {
                    opened = true;
                    lock (_lock)
                    {
                        _opens++;
                    }

                    _firstOpen.TrySetResult();
                }
            }

            int read = await client.ReceiveAsync(buffer, cancellationToken);
            if (read == 0)
            {
                return;
            }

            text.Append(Encoding.UTF8.GetString(buffer, 0, read));
        }
    }

    private void Take(string frames)
    {
        var items = SseStream.Parse(frames);
        lock (_lock)
        {
            foreach (var item in items)
            {
                if (item.EventType == "reset")
                {
                    _events.Add((item.EventId ?? "", "reset", item.Data)); // a test asserts there is none
                }
                else if (item.EventId is { } id)
                {
                    _events.Add((id, item.EventType == "message" ? null : item.EventType, item.Data));
                    _lastId = id;
                }
            }
        }
    }
}
