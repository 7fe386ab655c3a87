using System.Buffers;
using System.Text;
using RawSse.Sse;

namespace RawSse.Store;

/// <summary>
/// An event as a JetStream message's payload, binary so that no character of the data is escaped (a JSON string
/// would double a payload of quotes and push it past the server's <c>max_payload</c>):
/// <code>
/// version (1) | flags (bit 0: private) | topic count | topics | id | type | retry | data (the rest)
/// </code>
/// A count is an unsigned LEB128 varint; a string is its UTF-8 length and bytes; id, type and retry are written plus
/// one, so that 0 is "none". The position and time are the message's own (its stream sequence and timestamp).
/// </summary>
internal static class NatsEnvelope
{
    private const byte Version = 1;
    private const byte PrivateFlag = 1;
    private const int MaxVarint = 10;

    public static byte[] Encode(NewEvent e)
    {
        var ev = e.Event;
        int size = 2 + MaxVarint + MaxVarint * 3 + Encoding.UTF8.GetMaxByteCount(ev.Data.Length + (ev.Id?.Length ?? 0) + (ev.Type?.Length ?? 0));
        foreach (var topic in e.Topics)
        {
            size += MaxVarint + Encoding.UTF8.GetMaxByteCount(topic.Length);
        }

        byte[] rented = ArrayPool<byte>.Shared.Rent(size);
        try
        {
            var span = rented.AsSpan();
            int at = 0;
            span[at++] = Version;
            span[at++] = e.IsPrivate ? PrivateFlag : (byte)0;
            at += WriteVarint(span[at..], (ulong)e.Topics.Count);
            foreach (var topic in e.Topics)
            {
                at += WriteString(span[at..], topic, plusOne: false);
            }

            at += WriteString(span[at..], ev.Id, plusOne: true);
            at += WriteString(span[at..], ev.Type, plusOne: true);
            at += WriteVarint(span[at..], ev.Retry is { } retry ? (ulong)retry + 1 : 0);
            at += Encoding.UTF8.GetBytes(ev.Data, span[at..]);
            return span[..at].ToArray();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>The event in <paramref name="payload"/>, or null when it is not one of ours (a foreign publisher on the stream's subjects).</summary>
    public static LoggedEvent? Decode(ReadOnlySpan<byte> payload, long sequence, DateTimeOffset time)
    {
        if (payload.Length < 2 || payload[0] != Version || (payload[1] & ~PrivateFlag) != 0)
        {
            return null;
        }

        bool isPrivate = payload[1] == PrivateFlag;
        var rest = payload[2..];
        if (!TryReadVarint(ref rest, out ulong count) || count is 0 or > Hub.MaxTopicsPerEvent)
        {
            return null;
        }

        var topics = new string[(int)count];
        for (int i = 0; i < topics.Length; i++)
        {
            if (!TryReadString(ref rest, plusOne: false, out string? topic) || !Hub.IsValidTopic(topic))
            {
                return null;
            }

            topics[i] = topic!;
        }

        if (!TryReadString(ref rest, plusOne: true, out string? id) || !TryReadString(ref rest, plusOne: true, out string? type)
            || !TryReadVarint(ref rest, out ulong retryPlusOne) || retryPlusOne > int.MaxValue + 1UL)
        {
            return null;
        }

        // Checked as a publish is: whoever else can write to the stream's subjects must not forge an event.
        if (!SseEvent.IsValidField(id) || !SseEvent.IsValidField(type) || type == Hub.ResetType || !IsUtf8(rest))
        {
            return null;
        }

        int? retry = retryPlusOne == 0 ? null : (int)(retryPlusOne - 1);
        return new LoggedEvent(sequence, topics, new SseEvent(Encoding.UTF8.GetString(rest), type, id, retry), isPrivate, time);
    }

    private static int WriteVarint(Span<byte> span, ulong value)
    {
        int at = 0;
        while (value >= 0x80)
        {
            span[at++] = (byte)(value | 0x80);
            value >>= 7;
        }

        span[at++] = (byte)value;
        return at;
    }

    private static int WriteString(Span<byte> span, string? value, bool plusOne)
    {
        if (value is null)
        {
            return WriteVarint(span, 0); // only where plusOne: 0 is "none"
        }

        int length = Encoding.UTF8.GetByteCount(value);
        int at = WriteVarint(span, (ulong)length + (plusOne ? 1UL : 0UL));
        return at + Encoding.UTF8.GetBytes(value, span[at..]);
    }

    private static bool TryReadVarint(ref ReadOnlySpan<byte> span, out ulong value)
    {
        value = 0;
        for (int i = 0, shift = 0; i < span.Length && shift < 64; i++, shift += 7)
        {
            value |= (ulong)(span[i] & 0x7F) << shift;
            if (span[i] < 0x80)
            {
                span = span[(i + 1)..];
                return true;
            }
        }

        return false;
    }

    private static bool TryReadString(ref ReadOnlySpan<byte> span, bool plusOne, out string? value)
    {
        value = null;
        if (!TryReadVarint(ref span, out ulong length))
        {
            return false;
        }

        if (plusOne)
        {
            if (length == 0)
            {
                return true;
            }

            length--;
        }

        if (length > (ulong)span.Length || !IsUtf8(span[..(int)length]))
        {
            return false;
        }

        value = Encoding.UTF8.GetString(span[..(int)length]);
        span = span[(int)length..];
        return true;
    }

    private static bool IsUtf8(ReadOnlySpan<byte> bytes) => System.Text.Unicode.Utf8.IsValid(bytes);
}
