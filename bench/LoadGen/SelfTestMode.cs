using System.Text;

namespace LoadGen;

/// <summary>
/// <c>selftest</c>: checks the pieces every measurement rests on, with no network: the SSE scanner and the
/// chunked decoder on RawSse-, Go- and Kestrel-shaped streams fed whole, in random pieces and one byte at a
/// time, and the histogram's percentiles. run.sh runs it before any scenario. Ends "N passed, N failed".
/// </summary>
internal static class SelfTestMode
{
    public static int Run(Args args)
    {
        args.RejectUnknown();
        int passed = 0, failed = 0;
        void Check(string name, bool ok, string detail = "")
        {
            if (ok)
            {
                passed++;
            }
            else
            {
                failed++;
                Console.WriteLine($"FAIL {name} {detail}");
            }
        }

        // RawSse: close-delimited, "retry:" first, "id:", then data.
        const string RawSse = "retry: 2000\n\nid: 7\ndata: 1.1000.xxxx\n\nid: 8\nevent: tick\ndata: {\"id\":8,\"time\":\"t\"}\n\n:\n\nid: 9\ndata: 2.2000.\n\n";
        // Kestrel's SseFormatter: event first, CRLF-free, data before id.
        const string Kestrel = "event: ready\ndata: \nretry: 2000\n\nevent: tick\ndata: {\"id\":5,\"time\":\"t\"}\nid: 5\n\ndata: 3.3000.xx\nid: 6\n\n";
        foreach (var (name, text, events, ticks) in new[] { ("rawsse", RawSse, "1@1000,2@2000", "8"), ("kestrel", Kestrel, "3@3000", "5") })
        {
            var bytes = Encoding.ASCII.GetBytes(text);
            Check($"{name} whole", Scan(bytes, chunked: false, pieces: [bytes.Length]) == (events, ticks), Scan(bytes, false, [bytes.Length]).ToString());
            Check($"{name} byte at a time", Scan(bytes, chunked: false, pieces: Ones(bytes.Length)) == (events, ticks));
            Check($"{name} chunked, byte at a time", Scan(Chunk(bytes, 5), chunked: true, pieces: Ones(Chunk(bytes, 5).Length)) == (events, ticks));
            var random = new Random(42);
            for (int i = 0; i < 50; i++)
            {
                var chunked = Chunk(bytes, random.Next(1, 40));
                var pieces = RandomPieces(chunked.Length, random);
                Check($"{name} chunked, random pieces #{i}", Scan(chunked, chunked: true, pieces) == (events, ticks));
            }
        }

        var crlf = Encoding.ASCII.GetBytes("data: 4.4000.x\r\n\r\n");
        Check("CRLF line ends", Scan(crlf, chunked: false, pieces: Ones(crlf.Length)) == ("4@4000", ""));
        var longLine = Encoding.ASCII.GetBytes("data: 5.5000." + new string('x', 3000) + "\n\ndata: 6.6000.\n\n");
        Check("line longer than the buffer", Scan(longLine, chunked: false, pieces: [longLine.Length], bufferBytes: 256) == ("5@5000,6@6000", ""));

        var h = new Histogram();
        for (int v = 1; v <= 100_000; v++)
        {
            h.Record(v);
        }

        Check("histogram p50", Math.Abs(h.Percentile(50) - 50_000) <= 50_000 * 0.008, h.Percentile(50).ToString());
        Check("histogram p99", Math.Abs(h.Percentile(99) - 99_000) <= 99_000 * 0.008, h.Percentile(99).ToString());
        Check("histogram max", h.Percentile(100) == 100_000 && h.Max == 100_000);
        Check("histogram exact below 256", Histogram.FromData(h.ToData()).Percentile(0.1) == 100);

        Console.WriteLine($"{passed} passed, {failed} failed");
        return failed == 0 ? 0 : 1;
    }

    /// <summary>Feeds <paramref name="input"/> in pieces through the same path a subscriber uses; returns "seq@sentAt,..." and "tickId,...".</summary>
    private static (string Events, string Ticks) Scan(byte[] input, bool chunked, int[] pieces, int bufferBytes = 8192)
    {
        var sink = new RecordingSink();
        var scanner = new SseScanner();
        var decoder = new ChunkedDecoder();
        var buffer = new byte[bufferBytes];
        int held = 0, at = 0;
        foreach (int piece in pieces)
        {
            int left = piece;
            while (left > 0)
            {
                int take = Math.Min(left, buffer.Length - held);
                input.AsSpan(at, take).CopyTo(buffer.AsSpan(held));
                at += take;
                left -= take;
                int fresh = held;
                held += take;
                if (chunked)
                {
                    held = fresh + decoder.Decode(buffer.AsSpan(fresh, held - fresh));
                }

                int consumed = scanner.Scan(buffer.AsSpan(0, held), 0, sink);
                if (consumed == 0 && held == buffer.Length)
                {
                    scanner.SkipLongLine(buffer);
                    held = 0;
                }
                else if (consumed > 0)
                {
                    buffer.AsSpan(consumed, held - consumed).CopyTo(buffer);
                    held -= consumed;
                }
            }
        }

        return (string.Join(',', sink.Events), string.Join(',', sink.Ticks));
    }

    private static byte[] Chunk(byte[] body, int size)
    {
        var output = new MemoryStream();
        for (int i = 0; i < body.Length; i += size)
        {
            int n = Math.Min(size, body.Length - i);
            output.Write(Encoding.ASCII.GetBytes($"{n:x}\r\n"));
            output.Write(body, i, n);
            output.Write("\r\n"u8);
        }

        return output.ToArray();
    }

    private static int[] Ones(int count) => Enumerable.Repeat(1, count).ToArray();

    private static int[] RandomPieces(int total, Random random)
    {
        var pieces = new List<int>();
        while (total > 0)
        {
            int n = Math.Min(total, random.Next(1, 64));
            pieces.Add(n);
            total -= n;
        }

        return [.. pieces];
    }

    private sealed class RecordingSink : IEventSink
    {
        public List<string> Events { get; } = [];
        public List<string> Ticks { get; } = [];

        public void OnEvent(long sequence, long sentAt, long receivedAt) => Events.Add($"{sequence}@{sentAt}");

        public void OnTick(long tickId, long receivedAt) => Ticks.Add(tickId.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }
}
