using System.Globalization;
using System.Net;
using System.Net.ServerSentEvents;
using System.Text;

namespace RawSse.Tests;

/// <summary>
/// Event streams over a <see cref="RawClient"/>: opening one and checking how it begins, reading whole frames with a
/// deadline, the frames the numbered-event tests expect, and round-trips through the runtime's
/// <see cref="SseParser"/> (written independently of RawSse's writer, as a browser's would be).
/// </summary>
internal static class SseStream
{
    /// <summary>The sequence of one of <paramref name="hub"/>'s ids (<c>&lt;epoch&gt;-&lt;sequence&gt;</c>), or -1 for any other id.</summary>
    public static long SequenceOf(RawSse.Sse.Hub hub, string? id) =>
        id is not null && id.StartsWith(hub.Epoch + "-", StringComparison.Ordinal)
        && long.TryParse(id.AsSpan(hub.Epoch.Length + 1), NumberStyles.None, CultureInfo.InvariantCulture, out long n) ? n : -1;

    /// <summary>The first frame of every stream under the default <see cref="ServerOptions.Retry"/> of 2 s.</summary>
    public const string RetryFrame = "retry: 2000\n\n";

    /// <summary>
    /// Connects (from <paramref name="source"/> when given), sends <c>GET target</c> (with a <c>Last-Event-ID</c>
    /// header when one is given), checks the head is a 200, and reads the first frame (the retry block). The client
    /// is disposed if any of that fails.
    /// </summary>
    public static async Task<(RawClient Client, HttpResponse Head, string FirstFrame)> OpenAsync(
        TestServer server, string target, TimeSpan timeout, string? lastEventIdHeader = null, IPAddress? source = null)
    {
        var client = await RawClient.ConnectAsync(server.EndPoint, source, timeout: timeout);
        try
        {
            string header = lastEventIdHeader is null ? "" : $"Last-Event-ID: {lastEventIdHeader}\r\n";
            await client.SendAsync($"GET {target} HTTP/1.1\r\nHost: test\r\n{header}\r\n");
            var head = await client.ReadResponseAsync(expectBody: false, timeout);
            Assert.That(head.Status, Is.EqualTo(200), $"GET {target} from {client.LocalAddress}: {Describe.Escape(head.RawHead)}");
            string firstFrame = await client.ReadUntilAsync("\n\n", timeout);
            return (client, head, firstFrame);
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The tests' one way to open a stream: as <see cref="OpenAsync"/>, and checks that the first frame is
    /// <see cref="RetryFrame"/> (and, when <paramref name="expectedContentType"/> is given, the head's Content-Type);
    /// with <paramref name="waitForSubscriber"/>, also waits (within <paramref name="timeout"/>) until the hub counts one
    /// more stream than before. Returns the client positioned after the retry frame.
    /// </summary>
    public static async Task<RawClient> OpenStreamAsync(
        TestServer server, string target, TimeSpan timeout, string? lastEventIdHeader = null, string? expectedContentType = null,
        IPAddress? source = null, bool waitForSubscriber = false)
    {
        int before = server.SubscriberCount;
        var (client, head, firstFrame) = await OpenAsync(server, target, timeout, lastEventIdHeader, source);
        try
        {
            Assert.Multiple(() =>
            {
                if (expectedContentType is not null)
                {
                    Assert.That(head.Headers.GetValueOrDefault("Content-Type"), Is.EqualTo(expectedContentType), $"head: {head.RawHead}");
                }

                Assert.That(Describe.Escape(firstFrame), Is.EqualTo(Describe.Escape(RetryFrame)), $"the first frame of GET {target}");
            });
            if (waitForSubscriber)
            {
                await server.WaitForSubscribersAsync(before + 1, timeout);
            }

            return client;
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    /// <summary>Reads <paramref name="count"/> whole frames (each up to its blank line), each within <paramref name="timeout"/>.</summary>
    public static async Task<List<string>> ReadFramesAsync(RawClient client, int count, TimeSpan timeout)
    {
        var frames = new List<string>(count);
        for (int i = 0; i < count; i++)
        {
            frames.Add(await client.ReadUntilAsync("\n\n", timeout));
        }

        return frames;
    }

    /// <summary>The frame of event <paramref name="i"/> as the numbered-event tests publish it: id <c>i</c>, data <c>e{i}</c>.</summary>
    public static string NumberedFrame(RawSse.Sse.Hub hub, int i) => string.Create(CultureInfo.InvariantCulture, $"id: {hub.Epoch}-{i}\ndata: e{i}\n\n");

    /// <summary>The frames of events <paramref name="from"/> to <paramref name="to"/>, inclusive.</summary>
    public static List<string> NumberedFrames(RawSse.Sse.Hub hub, int from, int to) => Enumerable.Range(from, to - from + 1).Select(i => NumberedFrame(hub, i)).ToList();

    /// <summary>Round-trips stream bytes through the runtime's SSE parser; <paramref name="retry"/> is the last <c>retry:</c> it saw, if any.</summary>
    public static List<SseItem<string>> Parse(byte[] bytes, out TimeSpan? retry)
    {
        var parser = SseParser.Create(new MemoryStream(bytes));
        var events = parser.Enumerate().ToList();
        retry = parser.ReconnectionInterval == Timeout.InfiniteTimeSpan ? null : parser.ReconnectionInterval;
        return events;
    }

    public static List<SseItem<string>> Parse(byte[] bytes) => Parse(bytes, out _);

    public static List<SseItem<string>> Parse(string streamText, out TimeSpan? retry) => Parse(Encoding.UTF8.GetBytes(streamText), out retry);

    public static List<SseItem<string>> Parse(string streamText) => Parse(Encoding.UTF8.GetBytes(streamText), out _);
}
