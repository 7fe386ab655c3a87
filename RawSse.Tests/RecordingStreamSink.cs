using System.Net.ServerSentEvents;
using System.Text;
using RawSse.Transport;

namespace RawSse.Tests;

/// <summary>
/// A stream sink with no socket: records what a subscriber sends, and parses it with the runtime's SSE parser once an
/// event whose data is the sentinel has arrived (whatever came before it is everything the stream was sent).
/// </summary>
internal sealed class RecordingStreamSink(string sentinel) : IStreamSink
{
    private readonly Lock _lock = new();
    private readonly MemoryStream _bytes = new();

    /// <summary>The events before the sentinel, once it arrived within <paramref name="deadline"/>; fails the test otherwise, or if it came twice.</summary>
    public async Task<List<SseItem<string>>> EventsUntilSentinelAsync(TimeSpan deadline)
    {
        List<SseItem<string>> items = [];
        bool complete = await Polling.UntilAsync(() =>
        {
            items = SseStream.Parse(Snapshot());
            return items.Any(i => i.Data == sentinel);
        }, deadline);
        Assert.That(complete, Is.True, $"the sentinel arrived; got {Encoding.UTF8.GetString(Snapshot())}");
        Assert.That(items.Count(i => i.Data == sentinel), Is.EqualTo(1), "the sentinel came once");
        return items.TakeWhile(i => i.Data != sentinel).ToList();
    }

    /// <summary>The ids of the events before the sentinel.</summary>
    public async Task<List<string>> IdsUntilSentinelAsync(TimeSpan deadline) =>
        (await EventsUntilSentinelAsync(deadline)).Select(i => i.EventId!).ToList();

    public int TrySend(ReadOnlySpan<byte> bytes)
    {
        lock (_lock)
        {
            _bytes.Write(bytes);
        }

        return bytes.Length;
    }

    public ValueTask<bool> SendAsync(ReadOnlyMemory<byte> bytes) => ValueTask.FromResult(TrySend(bytes.Span) == bytes.Length);

    public void EndStream()
    {
    }

    public void Complete(DisconnectReason reason) => Assert.Fail($"the stream was completed: {reason}");

    private byte[] Snapshot()
    {
        lock (_lock)
        {
            return _bytes.ToArray();
        }
    }
}
