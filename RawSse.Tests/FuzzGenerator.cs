using System.Globalization;
using System.Text;
using RawSse.Sse;

namespace RawSse.Tests;

internal enum FuzzKind { Valid, Mutated, Huge, Truncated, Stream }

/// <summary>How the client ends a fuzzed connection.</summary>
internal enum FuzzEnding
{
    /// <summary>Read until the server closes (a stream that starts unexpectedly is ended with a half-close), then reset.</summary>
    ReadToEof,

    /// <summary>Half-close right after writing, read until the server closes.</summary>
    ShutdownThenEof,

    /// <summary>Reset as soon as everything is written, without reading.</summary>
    ResetAfterWrite,

    /// <summary>Read until the stream has started (or the server closed), then reset.</summary>
    ResetAfterStream,
}

/// <summary>One response a script's heads must get: its status, whether it answers a HEAD (no body), whether it opens a stream.</summary>
internal readonly record struct FuzzExpect(int Status, bool HeadOnly = false, bool Stream = false);

internal sealed class FuzzScript
{
    public required int Index { get; init; }
    public required FuzzKind Kind { get; init; }
    public required FuzzEnding Ending { get; init; }

    /// <summary>What is written, in order: heads (with their bodies), mutated, oversized or truncated heads.</summary>
    public required List<byte[]> Units { get; init; }

    /// <summary>Per unit: 'v' valid, 'm' mutated, 'h' oversized, 't' truncated, 's' stream request.</summary>
    public required List<char> Tags { get; init; }

    /// <summary>The exact responses, in order, when every head's answer is known; null when a mutation makes it unknowable.</summary>
    public List<FuzzExpect>? Expected { get; init; }

    /// <summary>Whether any response may answer a HEAD (and so have no body despite its Content-Length).</summary>
    public bool MayBeHead { get; init; }

    public required int[] WriteSizes { get; init; }

    /// <summary>The first units, each with its tag, length and first bytes: enough to recognise the script in a failure.</summary>
    public string Describe()
    {
        var parts = Units.Take(6).Select((u, i) => $"[{Tags[i]} {u.Length} B] {Tests.Describe.Bytes(u, 0, 120)}");
        return string.Join(" | ", parts) + (Units.Count > 6 ? $" | … {Units.Count} units in all" : "");
    }
}

/// <summary>Builds one connection's script from its own <see cref="Random"/>.</summary>
internal sealed class FuzzGenerator(Random rng, int port)
{
    // The server's request-head limits (RequestLimits.Default), which the oversized heads straddle.
    private const int MaxRequestLineBytes = 8 * 1024;
    private const int MaxHeaderBytes = 32 * 1024;
    private const int MaxHeaderCount = 100;

    private static readonly string[] s_topics = ["fz-1", "fz-2", "fz-3", Hub.DefaultTopic];
    private static readonly byte[] s_terminator = Latin1("GET / HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\n\r\n");
    private static readonly byte[][] s_specials =
        [[(byte)'\r'], [(byte)'\n'], [0], [(byte)' '], [(byte)':'], [(byte)'\t'], [0x7F], [0x80], [0xFF], "\r\n"u8.ToArray(), "\r\n\r\n"u8.ToArray()];
    private static readonly string[] s_methods =
        ["get", "GETT", "G", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "TRACE", "PATCH", "CONNECT", "BREW", "PRI", "GET\t", "GE T", ""];
    private static readonly string[] s_versions =
        ["HTTP/1.0", "HTTP/2.0", "HTTP/1.2", "HTTP/0.9", "http/1.1", "HTTP/1.1 ", "HTTP/1.10", "HTTP/1", "HTTP/9.9", "HTTP/1.1\0", "HTTP/1.x", "HTTP/1.1\r"];
    private const string TChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-.^_`|~";

    private readonly List<byte[]> _units = [];
    private readonly List<char> _tags = [];
    private readonly List<FuzzExpect> _expected = [];

    /// <summary>The connection's own seed, from the run's seed and its index only (SplitMix64), so any connection can be replayed alone.</summary>
    public static int ConnectionSeed(int seed, int index)
    {
        ulong z = ((ulong)(uint)seed << 32 | (uint)index) + 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return (int)(z ^ (z >> 31));
    }

    public FuzzScript Build(int index)
    {
        int roll = rng.Next(100);
        var kind = roll < 12 ? FuzzKind.Valid : roll < 70 ? FuzzKind.Mutated : roll < 80 ? FuzzKind.Huge : roll < 90 ? FuzzKind.Truncated : FuzzKind.Stream;
        bool exact = true;
        FuzzEnding ending = FuzzEnding.ReadToEof;
        switch (kind)
        {
            case FuzzKind.Valid:
                AddValid(8 + rng.Next(33));
                AddTerminator();
                break;

            case FuzzKind.Mutated:
                exact = false;
                AddValid(rng.Next(4));
                for (int m = 1 + rng.Next(4); m > 0; m--)
                {
                    Add(Mutate(Valid().Bytes), 'm');
                    AddValid(rng.Next(2));
                }

                AddValid(rng.Next(3));
                AddTerminator();
                ending = rng.Next(5) == 0 ? FuzzEnding.ResetAfterWrite : FuzzEnding.ReadToEof;
                break;

            case FuzzKind.Huge:
                AddValid(rng.Next(3));
                var (huge, hugeFuzzExpect) = Oversized();
                Add(huge, 'h', hugeFuzzExpect);
                if (hugeFuzzExpect.Status is not (414 or 431))
                {
                    AddValid(rng.Next(3));
                    AddTerminator();
                }
                else
                {
                    // Sent, but never answered: the server closes after refusing the oversized head.
                    for (int i = rng.Next(3); i > 0; i--)
                    {
                        Add(Valid().Bytes, 'v');
                    }
                }

                break;

            case FuzzKind.Truncated:
                AddValid(rng.Next(5));
                var whole = Valid().Bytes;
                if (rng.Next(10) < 3)
                {
                    whole = Mutate(whole);
                    exact = false;
                }

                // A proper prefix is never a complete head (or head and body): it gets no answer.
                Add(whole[..(1 + rng.Next(whole.Length - 1))], 't');
                ending = rng.Next(2) == 0 ? FuzzEnding.ShutdownThenEof : FuzzEnding.ResetAfterWrite;
                break;

            default:
                AddValid(rng.Next(3));
                string target = rng.Next(4) switch
                {
                    0 => "/sse",
                    1 => $"/sse?topic={Pick(s_topics)}&topic={Pick(s_topics)}",
                    2 => $"http://127.0.0.1:{port}/sse?topic={Pick(s_topics)}&lastEventId={rng.Next(50)}",
                    _ => $"/sse?topic={Pick(s_topics)}",
                };
                var subscribe = Latin1(
                    $"GET {target} HTTP/1.1\r\nHost: fuzz\r\nAccept: text/event-stream\r\n"
                    + (rng.Next(4) == 0 ? $"Last-Event-ID: {rng.Next(200)}\r\n" : "") + Extras() + "\r\n");
                if (rng.Next(4) == 0)
                {
                    subscribe = Mutate(subscribe);
                    exact = false;
                }

                Add(subscribe, 's', new FuzzExpect(200, Stream: true));
                if (rng.Next(3) == 0)
                {
                    Add(Valid().Bytes, 'v'); // pipelined behind a stream: swallowed, never answered
                }

                int end = rng.Next(20);
                ending = end < 11 ? FuzzEnding.ResetAfterStream : end < 16 ? FuzzEnding.ShutdownThenEof : FuzzEnding.ResetAfterWrite;
                break;
        }

        return new FuzzScript
        {
            Index = index,
            Kind = kind,
            Ending = ending,
            Units = _units,
            Tags = _tags,
            Expected = exact ? _expected : null,
            MayBeHead = _units.Any(u => u.AsSpan().IndexOf("HEAD"u8) >= 0),
            WriteSizes = Cuts(_units.Sum(u => u.Length)),
        };
    }

    private void Add(byte[] unit, char tag, FuzzExpect? expect = null)
    {
        _units.Add(unit);
        _tags.Add(tag);
        if (expect is { } e)
        {
            _expected.Add(e);
        }
    }

    private void AddValid(int count)
    {
        for (int i = 0; i < count; i++)
        {
            var (bytes, expect) = Valid();
            Add(bytes, 'v', expect);
        }
    }

    private void AddTerminator() => Add(s_terminator, 'v', new FuzzExpect(200));

    /// <summary>Write sizes: one write, a few, or (for small payloads) many tiny ones; cut at random points.</summary>
    private int[] Cuts(int total)
    {
        int roll = rng.Next(100);
        int writes = roll < 40 ? 1 : roll < 88 || total > 4096 ? 2 + rng.Next(7) : 16 + rng.Next(49);
        writes = Math.Min(writes, total);
        var points = new SortedSet<int> { 0, total };
        while (points.Count < writes + 1)
        {
            points.Add(1 + rng.Next(total - 1));
        }

        var list = points.ToArray();
        return [.. list.Skip(1).Select((p, i) => p - list[i])];
    }

    /// <summary>A valid head (with its body, if any) and the response it must get.</summary>
    public (byte[] Bytes, FuzzExpect FuzzExpect) Valid()
    {
        string host = Pick("Host: fuzz\r\n", "host:fuzz\r\n", "HOST: \t fuzz \t\r\n", $"Host: 127.0.0.1:{port}\r\n");
        string fields = rng.Next(2) == 0 ? host + Extras() : Extras() + host;
        string topic = Pick(s_topics);
        switch (rng.Next(28))
        {
            case 0:
            case 1:
                return Head("GET / HTTP/1.1", fields, 200);
            case 2:
                return Head("GET /index.html HTTP/1.1", fields, 200);
            case 3:
                return Head("HEAD / HTTP/1.1", fields, 200, headOnly: true);
            case 4:
                return Head($"GET /nope-{rng.Next(1000)} HTTP/1.1", fields, 404);
            case 5:
                return Head($"GET http://127.0.0.1:{port}/index.html HTTP/1.1", fields, 200);
            case 6:
                return Head("GET HTTP://fuzz?x=1 HTTP/1.1", fields, 200);
            case 7:
                return Head($"HEAD /sse?topic={topic} HTTP/1.1", fields, 200, headOnly: true);
            case 8:
                return Head(Pick("GET /sse?topic=%C0%AE HTTP/1.1", $"GET /sse?topic={new string('t', 257)} HTTP/1.1"), fields, 400);
            case 9:
            case 10:
            {
                string form = $"topic={topic}&data=fuzz+{rng.Next(100_000)}" + (rng.Next(4) == 0 ? $"&id=e{rng.Next(1000)}" : "") + (rng.Next(4) == 0 ? "&type=fz" : "");
                return Head("POST /publish HTTP/1.1", fields + $"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {form.Length}\r\n", 200, body: form);
            }

            case 11:
                return Head("POST /publish HTTP/1.1", fields + "Content-Type: text/plain\r\nContent-Length: 9\r\n", 415, body: "data=oops");
            case 12:
                return Head("POST /publish HTTP/1.1", fields + "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 16\r\n", 400, body: "topic=a&data=%FF");
            case 13:
                return Head("OPTIONS / HTTP/1.1", fields, 405);
            case 14:
                return Head("GET / HTTP/1.1", fields + "If-None-Match: *\r\n", 304);
            case 15:
                return Head("GET /metrics HTTP/1.1", fields, 200);
            case 16:
                return Head("GET / HTTP/1.0", "Connection: keep-alive\r\n" + Extras(), 200);
            case 17:
                return Head(Pick("GET /a/../index.html HTTP/1.1", "GET /%69ndex.html HTTP/1.1", "GET //./index.html HTTP/1.1"), fields, 200);
            case 18:
            {
                string body = VisibleText(1 + rng.Next(64));
                return Head("GET / HTTP/1.1", fields + $"Content-Length: {body.Length}\r\n", 200, body: body);
            }

            case 19:
                return Head(Pick("GET /../etc/passwd HTTP/1.1", "GET /.hidden HTTP/1.1", "GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1"), fields, 404);
            case 20:
                return Head("DELETE /publish HTTP/1.1", fields, 405);
            case 21:
                return Head("HEAD /publish HTTP/1.1", fields, 405, headOnly: true);
            case 22:
            {
                // RFC 9112 §2.2: one empty line before the request-line is ignored.
                var (bytes, expect) = Head("GET / HTTP/1.1", fields, 200);
                return ([(byte)'\r', (byte)'\n', .. bytes], expect);
            }

            case 23:
                return Head("GET /index.html?x=1&y HTTP/1.1", fields, 200);
            case 24:
                return Head("GET /sse?topic=%00 HTTP/1.1", fields, 400);
            case 25:
            case 26:
            {
                // A chunked publish, cut into random chunks (some with an extension), with a trailer now and then.
                string form = $"topic={topic}&data=chunked+{rng.Next(100_000)}";
                var chunked = new StringBuilder();
                for (int at = 0; at < form.Length;)
                {
                    int size = Math.Min(form.Length - at, 1 + rng.Next(12));
                    chunked.Append(size.ToString(rng.Next(2) == 0 ? "x" : "X", CultureInfo.InvariantCulture))
                        .Append(rng.Next(5) == 0 ? ";ext=1" : "").Append("\r\n").Append(form, at, size).Append("\r\n");
                    at += size;
                }

                chunked.Append("0\r\n").Append(rng.Next(4) == 0 ? "X-Trailer: t\r\n" : "").Append("\r\n");
                return Head("POST /publish HTTP/1.1", fields + "Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n", 200, body: chunked.ToString());
            }

            default:
                return Head("GET / HTTP/1.1", fields + "Content-Length: 0\r\n", 200);
        }
    }

    private static (byte[] Bytes, FuzzExpect FuzzExpect) Head(string requestLine, string fields, int status, bool headOnly = false, string body = "") =>
        (Latin1(requestLine + "\r\n" + fields + "\r\n" + body), new FuzzExpect(status, headOnly));

    /// <summary>Heads at, just past and far past the 8 KiB request-line, 32 KiB header and 100-field limits.</summary>
    private (byte[] Bytes, FuzzExpect FuzzExpect) Oversized()
    {
        switch (rng.Next(8))
        {
            case 0:
            case 1:
            {
                // "GET /" + path + " HTTP/1.1": the line and its CRLF fill the limit exactly, or overflow it by one or by many.
                int overflow = rng.Next(3) switch { 0 => 0, 1 => 1, _ => 2 + rng.Next(12_000) };
                int pathLength = MaxRequestLineBytes - "GET / HTTP/1.1\r\n".Length + overflow;
                return (Latin1($"GET /{VisiblePath(pathLength)} HTTP/1.1\r\nHost: fuzz\r\n\r\n"), new FuzzExpect(overflow == 0 ? 404 : 414));
            }

            case 2:
            case 3:
            {
                // Field lines with their CRLFs, plus the blank line: exactly the limit, one over, or far over.
                int overflow = rng.Next(3) switch { 0 => 0, 1 => 1, _ => 2 + rng.Next(12_000) };
                int valueLength = MaxHeaderBytes - "Host: fuzz\r\n".Length - "X-Big: \r\n".Length - 2 + overflow;
                return (Latin1($"GET / HTTP/1.1\r\nHost: fuzz\r\nX-Big: {VisibleText(valueLength)}\r\n\r\n"), new FuzzExpect(overflow == 0 ? 200 : 431));
            }

            case 4:
            case 5:
            {
                int count = rng.Next(2) == 0 ? MaxHeaderCount : MaxHeaderCount + 1 + rng.Next(60);
                var fields = new StringBuilder("Host: fuzz\r\n");
                for (int i = 1; i < count; i++)
                {
                    fields.Append(CultureInfo.InvariantCulture, $"X-F{i}: {VisibleText(1 + rng.Next(8))}\r\n");
                }

                return (Latin1($"GET / HTTP/1.1\r\n{fields}\r\n"), new FuzzExpect(count <= MaxHeaderCount ? 200 : 431));
            }

            case 6:
                // Large but within every limit.
                return (Latin1($"GET / HTTP/1.1\r\nHost: fuzz\r\nX-A: {VisibleText(12_000 + rng.Next(4_000))}\r\nX-B: {VisibleText(12_000 + rng.Next(4_000))}\r\n\r\n"), new FuzzExpect(200));

            default:
                // Many short lines whose sum, not any single one, crosses 32 KiB.
                var many = new StringBuilder("Host: fuzz\r\n");
                for (int i = 0; i < 60; i++)
                {
                    many.Append(CultureInfo.InvariantCulture, $"X-L{i}: {VisibleText(600)}\r\n");
                }

                return (Latin1($"GET / HTTP/1.1\r\n{many}\r\n"), new FuzzExpect(431));
        }
    }

    // ---- mutations -----------------------------------------------------------------------------------

    public byte[] Mutate(byte[] original)
    {
        var bytes = new List<byte>(original);
        int count = rng.Next(10) < 6 ? 1 : 2 + rng.Next(3);
        for (int i = 0; i < count; i++)
        {
            MutateOnce(bytes);
        }

        return [.. bytes];
    }

    private void MutateOnce(List<byte> b)
    {
        if (b.Count == 0)
        {
            b.AddRange(Latin1(VisibleText(1 + rng.Next(8))));
            return;
        }

        int pos = rng.Next(b.Count);
        switch (rng.Next(15))
        {
            case 0:
            case 1:
                b[pos] ^= (byte)(1 << rng.Next(8));
                break;
            case 2:
                b[pos] = (byte)rng.Next(256);
                break;
            case 3:
            case 4:
                b.InsertRange(rng.Next(b.Count + 1), s_specials[rng.Next(s_specials.Length)]);
                break;
            case 5:
                b.RemoveRange(pos, Math.Min(1 + rng.Next(8), b.Count - pos));
                break;
            case 6:
                DuplicateLine(b);
                break;
            case 7:
                InsertField(b, RandomField());
                break;
            case 8:
                // A value straddling the 8 KiB line or 32 KiB head limit.
                InsertField(b, Latin1($"X-Huge: {VisibleText(Pick(8_000, 8_200, 30_000, 32_800, 36_000 + rng.Next(6_000)))}\r\n"));
                break;
            case 9:
            {
                // A longer request-target, around the 8 KiB line limit.
                int slash = b.IndexOf((byte)'/');
                b.InsertRange(slash < 0 ? 0 : slash + 1, Latin1(VisiblePath(Pick(100, 8_150, 8_200, 9_000))));
                break;
            }

            case 10:
            {
                var fields = new StringBuilder();
                for (int i = 95 + rng.Next(40); i > 0; i--)
                {
                    fields.Append(CultureInfo.InvariantCulture, $"X-M{i}: v\r\n");
                }

                InsertField(b, Latin1(fields.ToString()));
                break;
            }

            case 11:
                ReplaceFirst(b, "HTTP/1."u8, 8, Latin1(Pick(s_versions)));
                break;
            case 12:
            {
                int space = b.IndexOf((byte)' ');
                if (space >= 0)
                {
                    b.RemoveRange(0, space);
                    b.InsertRange(0, Latin1(rng.Next(3) == 0 ? Token(1 + rng.Next(12)) : Pick(s_methods)));
                }

                break;
            }

            case 13:
            {
                // A bare LF where a CRLF was.
                int lf = b.IndexOf((byte)'\n', pos);
                if (lf > 0 && b[lf - 1] == (byte)'\r')
                {
                    b.RemoveAt(lf - 1);
                }

                break;
            }

            default:
                // obs-fold: a field line starting with whitespace.
                InsertField(b, Latin1(Pick(" folded\r\n", "\tfolded\r\n", " \r\n")));
                break;
        }
    }

    private byte[] RandomField()
    {
        string name = rng.Next(5) == 0 ? Pick("Host", "Content-Length", "Transfer-Encoding", "Connection", "Last-Event-ID", "If-None-Match", "Content-Type") : Token(1 + rng.Next(20));
        var value = new List<byte>();
        for (int i = rng.Next(40); i > 0; i--)
        {
            int kind = rng.Next(10);
            value.Add(kind < 7 ? (byte)(0x20 + rng.Next(0x5F)) : kind < 9 ? (byte)(0x80 + rng.Next(0x80)) : (byte)rng.Next(0x20));
        }

        string separator = Pick(": ", ":", " : ", ":\t", "");
        return [.. Latin1(name + separator), .. value, (byte)'\r', (byte)'\n'];
    }

    /// <summary>Inserts at the start of a random field line (or right before the blank line ending the head).</summary>
    private void InsertField(List<byte> b, byte[] field)
    {
        var starts = new List<int>();
        for (int i = 2; i <= b.Count; i++)
        {
            if (b[i - 2] == (byte)'\r' && b[i - 1] == (byte)'\n')
            {
                starts.Add(i);
                if (i + 1 < b.Count && b[i] == (byte)'\r' && b[i + 1] == (byte)'\n')
                {
                    break; // the blank line: the head ends here
                }
            }
        }

        b.InsertRange(starts.Count == 0 ? rng.Next(b.Count + 1) : starts[rng.Next(starts.Count)], field);
    }

    private void DuplicateLine(List<byte> b)
    {
        int first = IndexOf(b, "\r\n"u8, 0);
        if (first < 0)
        {
            return;
        }

        var starts = new List<int>();
        int i = first + 2;
        while (i < b.Count)
        {
            int end = IndexOf(b, "\r\n"u8, i);
            if (end <= i)
            {
                break; // no more lines, or the blank line ending the head
            }

            starts.Add(i);
            i = end + 2;
        }

        if (starts.Count == 0)
        {
            return;
        }

        int start = starts[rng.Next(starts.Count)];
        int lineEnd = IndexOf(b, "\r\n"u8, start) + 2;
        b.InsertRange(lineEnd, b.GetRange(start, lineEnd - start));
    }

    private static void ReplaceFirst(List<byte> b, ReadOnlySpan<byte> find, int length, byte[] with)
    {
        int at = IndexOf(b, find, 0);
        if (at >= 0 && at + length <= b.Count)
        {
            b.RemoveRange(at, length);
            b.InsertRange(at, with);
        }
    }

    private static int IndexOf(List<byte> b, ReadOnlySpan<byte> find, int from)
    {
        if (from < 0 || from > b.Count)
        {
            return -1;
        }

        int at = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(b)[from..].IndexOf(find);
        return at < 0 ? -1 : at + from;
    }

    private string Extras()
    {
        var text = new StringBuilder();
        for (int i = rng.Next(4); i > 0; i--)
        {
            text.Append(rng.Next(10) switch
            {
                0 => "User-Agent: rawsse-fuzz/1.0\r\n",
                1 => "Accept: */*\r\n",
                2 => "Accept-Encoding: gzip, br\r\n",
                3 => "Cookie: a=b; c=d\r\n",
                4 => "Cache-Control: no-cache\r\n",
                5 => "Connection: keep-alive\r\n",
                6 => "X-Obs-Text: caf\u00e9 \u00ff\r\n",
                7 => "X-Empty:\r\n",
                8 => "X-Tab:\tvalue\t\r\n",
                _ => $"X-Fuzz-{rng.Next(100)}: {VisibleText(rng.Next(40))}\r\n",
            });
        }

        return text.ToString();
    }

    private string VisibleText(int length)
    {
        return string.Create(length, rng, static (span, r) =>
        {
            for (int i = 0; i < span.Length; i++)
            {
                span[i] = (char)(0x21 + r.Next(0x5E));
            }
        });
    }

    private string VisiblePath(int length)
    {
        const string chars = "abcdefghijklmnopqrstuvwxyz0123456789-_~.";
        return string.Create(length, rng, static (span, r) =>
        {
            for (int i = 0; i < span.Length; i++)
            {
                span[i] = i % 64 == 63 ? '/' : chars[r.Next(chars.Length)];
            }
        });
    }

    private string Token(int length) =>
        string.Create(length, rng, static (span, r) =>
        {
            for (int i = 0; i < span.Length; i++)
            {
                span[i] = TChars[r.Next(TChars.Length)];
            }
        });

    private T Pick<T>(params T[] choices) => choices[rng.Next(choices.Length)];

    private static byte[] Latin1(string text) => Encoding.Latin1.GetBytes(text);
}
