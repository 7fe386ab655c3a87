namespace RawSse.Tests;

/// <summary>Where <see cref="FuzzOracle.Judge"/> got to in a connection's bytes.</summary>
internal enum FuzzVerdict
{
    /// <summary>Well-formed so far; more bytes may follow.</summary>
    NeedMore,

    /// <summary>Every byte is accounted for by well-formed responses.</summary>
    Done,

    /// <summary>A response opened an event stream: its body, "retry: …" first, runs to the end of the connection.</summary>
    StreamStarted,

    /// <summary>The bytes break the rules; the error says where and how.</summary>
    Invalid,
}

/// <summary>
/// What the server must answer a fuzzed connection: whatever it sends is a sequence of well-framed HTTP/1.1
/// responses, each head as <see cref="HttpResponseScanner"/> reads it, and then a body framed by Content-Length (none
/// for 1xx/204/304 or a HEAD), or an event stream whose body ("retry: …" first) runs to the end. With
/// <see cref="FuzzScript.Expected"/> the statuses and their number must match exactly; without it (mutated heads), a
/// response might answer a HEAD, and is allowed to have no body when the next bytes are the next status line.
/// Nothing may follow a response that announced Connection: close.
/// </summary>
internal static class FuzzOracle
{
    /// <summary>A response head longer than this is not one the server would send.</summary>
    public const int MaxResponseHeadBytes = 16 * 1024;

    private static ReadOnlySpan<byte> RetryPrefix => "retry:"u8;

    public static FuzzVerdict Judge(ReadOnlySpan<byte> data, bool complete, bool truncationAllowed, FuzzScript script, out int responses, out string error) =>
        Judge(data, complete, truncationAllowed, script, out responses, out error, out _);

    /// <param name="data">Everything received on the connection so far.</param>
    /// <param name="complete">Whether the connection has ended (so nothing more will come).</param>
    /// <param name="truncationAllowed">Whether the last response may be cut short (the client reset, or the server did).</param>
    /// <param name="script">What was sent.</param>
    /// <param name="responses">How many responses were read.</param>
    /// <param name="error">What is wrong, when the verdict is <see cref="FuzzVerdict.Invalid"/>.</param>
    /// <param name="closeAnnounced">Whether a response said Connection: close (after which the server may close at once).</param>
    public static FuzzVerdict Judge(ReadOnlySpan<byte> data, bool complete, bool truncationAllowed, FuzzScript script, out int responses, out string error, out bool closeAnnounced)
    {
        var statusPrefix = HttpResponseScanner.StatusPrefix;
        responses = 0;
        error = "";
        closeAnnounced = false;
        var expected = script.Expected;
        int pos = 0;
        while (true)
        {
            var rest = data[pos..];
            if (rest.IsEmpty)
            {
                if (!complete)
                {
                    return FuzzVerdict.NeedMore;
                }

                if (expected is not null && responses != expected.Count && !truncationAllowed)
                {
                    return Fail(out error, $"{responses} responses, expected {expected.Count}", data, pos);
                }

                return FuzzVerdict.Done;
            }

            if (expected is not null && responses >= expected.Count)
            {
                return Fail(out error, $"bytes after the {expected.Count} expected responses", data, pos);
            }

            switch (HttpResponseScanner.TryScanHead(rest, MaxResponseHeadBytes, out var head, out string malformed))
            {
                case HeadScan.Malformed:
                    return Fail(out error, malformed, data, pos);
                case HeadScan.NeedMore when !complete:
                    return FuzzVerdict.NeedMore;
                case HeadScan.NeedMore:
                    return truncationAllowed ? FuzzVerdict.Done : Fail(out error, "a response head cut short", data, pos);
            }

            int status = head!.Status;
            bool eventStream = head.IsEventStream, close = head.AnnouncesClose;
            responses++;
            closeAnnounced |= close;
            FuzzExpect? expect = expected?[responses - 1];
            if (expect is { } e && (e.Status != status || e.Stream != (eventStream && !e.HeadOnly)))
            {
                return Fail(out error, $"response {responses} is {status}{(eventStream ? " (stream)" : "")}, expected {e.Status}{(e.Stream ? " (stream)" : "")}", data, pos);
            }

            int bodyStart = pos + head.Length;
            var after = data[bodyStart..];
            if (eventStream)
            {
                if (after.StartsWith(RetryPrefix))
                {
                    return FuzzVerdict.StreamStarted; // the rest is the stream's body: arbitrary events
                }

                bool headOnly = expect?.HeadOnly ?? script.MayBeHead;
                if (!headOnly)
                {
                    if (after.Length < RetryPrefix.Length && RetryPrefix.StartsWith(after))
                    {
                        return !complete ? FuzzVerdict.NeedMore
                            : truncationAllowed ? FuzzVerdict.Done
                            : Fail(out error, "an event stream that ended before its retry line", data, pos);
                    }

                    return Fail(out error, "an event stream that does not begin with its retry line", data, bodyStart);
                }

                if (expect is null && after.IsEmpty && !complete)
                {
                    return FuzzVerdict.NeedMore; // a HEAD's stream head, or a stream's whose first bytes have not arrived
                }

                pos = bodyStart;
            }
            else if (head.StatusForbidsBody)
            {
                pos = bodyStart;
            }
            else if (head.ContentLength is long contentLength)
            {
                bool bodyless;
                if (expect is { } known)
                {
                    bodyless = known.HeadOnly;
                }
                else if (script.MayBeHead && after.Length < statusPrefix.Length && statusPrefix.StartsWith(after))
                {
                    if (!complete)
                    {
                        return FuzzVerdict.NeedMore;
                    }

                    bodyless = true;
                }
                else
                {
                    bodyless = script.MayBeHead && after.StartsWith(statusPrefix);
                }

                if (!bodyless && after.Length < contentLength)
                {
                    return !complete ? FuzzVerdict.NeedMore
                        : truncationAllowed ? FuzzVerdict.Done
                        : Fail(out error, $"a body of {after.Length} bytes where Content-Length is {contentLength}", data, pos);
                }

                pos = bodyless ? bodyStart : bodyStart + (int)contentLength;
            }
            else
            {
                return Fail(out error, "a response with neither Content-Length nor an event stream", data, pos);
            }

            if (close && pos < data.Length)
            {
                return Fail(out error, "bytes after a Connection: close response", data, pos);
            }
        }
    }

    private static FuzzVerdict Fail(out string error, string what, ReadOnlySpan<byte> data, int at)
    {
        error = $"{what} at byte {at} of {data.Length}: {Describe.Bytes(data, at)}";
        return FuzzVerdict.Invalid;
    }
}
