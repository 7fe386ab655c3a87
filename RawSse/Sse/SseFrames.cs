using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using RawSse.Http;

namespace RawSse.Sse;

/// <summary>
/// Every byte the server writes on a stream, in one place: the response head with its first <c>retry:</c>, events,
/// the heartbeat comment and the reset event (WHATWG HTML, "Server-sent events", §9.2.6 Interpreting an event stream).
/// Lines end in LF alone; an id or event name never contains CR or LF (<see cref="SseEvent"/> refuses them).
/// </summary>
internal static class SseFrames
{
    /// <summary>A form-encoded payload's shape: its <c>data:</c> lines and its decoded bytes without line breaks.</summary>
    public readonly record struct FormDataShape(int Lines, int DataBytes);

    /// <summary>A comment line: keeps proxies from timing out an idle stream and dispatches nothing.</summary>
    public static readonly byte[] HeartbeatFrame = ":\n"u8.ToArray();

    /// <summary>
    /// Sent instead of a replay when the events after a Last-Event-ID cannot all be replayed. It carries
    /// <paramref name="id"/> (the hub's newest position), so the browser's next reconnect resumes from there.
    /// </summary>
    public static byte[] Reset(string id) => Reset(id, "\nevent: reset\ndata: the events since your Last-Event-ID are no longer available; resync\n\n"u8);

    /// <summary>The reset a live stream gets when its server lost events before it could send them (it lagged behind a shared store's retention).</summary>
    public static byte[] Lost(string id) => Reset(id, "\nevent: reset\ndata: events were lost before this server could send them; resync\n\n"u8);

    private static byte[] Reset(string id, ReadOnlySpan<byte> rest)
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        Append(buffer, "id: "u8);
        Append(buffer, id);
        Append(buffer, rest);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// The stream's first frame: <c>200 text/event-stream</c> and its header fields, then <c>retry:</c>. The body runs
    /// until the connection closes (RFC 9112 §6.3, item 8): no Content-Length, no chunking.
    /// </summary>
    /// <param name="allowOrigin">The stream's <c>Access-Control-Allow-Origin</c> for any origin, or null.</param>
    /// <param name="cors">The CORS header fields of an allowed origin (with credentials), or null.</param>
    /// <param name="lastEventId">Mercure's <c>Last-Event-ID</c> response field, or null when no id was asked for.</param>
    public static byte[] StreamHead(long retryMs, string? allowOrigin, byte[]? cors, string? lastEventId)
    {
        var head = new ArrayBufferWriter<byte>(256);
        WriteStreamHeaders(head, allowOrigin, cors, lastEventId);
        ResponseWriter.EndHeaders(head);
        ResponseWriter.Write(head, "retry: "u8);
        ResponseWriter.WriteNumber(head, retryMs);
        ResponseWriter.Write(head, "\n\n"u8);
        return head.WrittenSpan.ToArray();
    }

    /// <summary>The status line and header fields of a stream, without the blank line (HEAD ends them itself).</summary>
    public static void WriteStreamHeaders(IBufferWriter<byte> writer, string? allowOrigin, byte[]? cors, string? lastEventId)
    {
        ResponseWriter.WriteStatusLine(writer, 200);
        ResponseWriter.WriteHeader(writer, "Content-Type"u8, "text/event-stream"u8);
        ResponseWriter.WriteHeader(writer, "Cache-Control"u8, "no-cache"u8);
        // nginx buffers proxied responses unless told not to.
        ResponseWriter.WriteHeader(writer, "X-Accel-Buffering"u8, "no"u8);
        if (cors is not null)
        {
            ResponseWriter.Write(writer, cors);
        }
        else if (!string.IsNullOrEmpty(allowOrigin))
        {
            ResponseWriter.WriteHeader(writer, "Access-Control-Allow-Origin"u8, allowOrigin);
        }

        // An id is any text but CR, LF and NUL; one with other control characters is no valid field value (RFC 9110
        // §5.5), so it is left out rather than sent broken.
        if (lastEventId is not null && !lastEventId.AsSpan().ContainsAnyInRange('\0', '\u001f') && !lastEventId.Contains('\u007f'))
        {
            ResponseWriter.WriteHeader(writer, "Last-Event-ID"u8, Encoding.UTF8.GetBytes(lastEventId));
        }
    }

    /// <summary>Encodes <paramref name="ev"/> with <paramref name="id"/> (its own or the assigned one) as a complete frame ending in a blank line.</summary>
    public static byte[] Encode(SseEvent ev, string? id)
    {
        var frame = NewFrame(EncodedLength(ev, id?.Length ?? -1, id is null ? 0 : Encoding.UTF8.GetByteCount(id)));
        int at = WriteRetry(frame, ev);
        if (id is not null)
        {
            at = WriteIdLine(frame, at, id);
        }

        WriteBody(frame.AsSpan(at), ev);
        return frame;
    }

    /// <summary>
    /// Encodes <paramref name="ev"/>, which has no id of its own, leaving room for the id a hub will assign:
    /// <c>&lt;epoch&gt;-</c> and <paramref name="digits"/> digits, written later by <see cref="TryStampId"/> once the
    /// position is known. All of the framing (line splitting, UTF-8) is done here, so a hub can do it outside its lock.
    /// </summary>
    public static byte[] EncodeWithIdSlot(SseEvent ev, string epoch, int digits, out int idAt)
    {
        Debug.Assert(ev.Id is null && epoch.Length == 8);
        int idLength = epoch.Length + 1 + digits;
        var frame = NewFrame(EncodedLength(ev, idLength, idLength));
        int at = WriteRetry(frame, ev);
        "id: "u8.CopyTo(frame.AsSpan(at));
        idAt = at + 4;
        Encoding.ASCII.GetBytes(epoch, frame.AsSpan(idAt));
        frame[idAt + epoch.Length] = (byte)'-';
        frame.AsSpan(idAt + epoch.Length + 1, digits).Fill((byte)'0'); // every byte written before TryStampId
        frame[idAt + idLength] = (byte)'\n';
        WriteBody(frame.AsSpan(idAt + idLength + 1), ev);
        return frame;
    }

    /// <summary>Writes <paramref name="sequence"/> into the slot <see cref="EncodeWithIdSlot"/> left; false when its digits do not fit it.</summary>
    public static bool TryStampId(byte[] frame, int idAt, int digits, long sequence) =>
        DigitsOf(sequence) == digits && sequence.TryFormat(frame.AsSpan(idAt + 9, digits), out _, provider: CultureInfo.InvariantCulture);

    /// <summary>The decimal digits of <paramref name="value"/> (not negative).</summary>
    public static int DigitsOf(long value)
    {
        int digits = 1;
        while (value >= 10)
        {
            value /= 10;
            digits++;
        }

        return digits;
    }

    // A frame's array, not zeroed first: each encoder writes every byte of it (a 1 MiB event's frame would otherwise be
    // cleared once by the runtime and once more by the encoder).
    private static byte[] NewFrame(int length) => GC.AllocateUninitializedArray<byte>(length);

    // The exact length of a frame with an id of idChars characters (-1: none) taking idBytes bytes.
    private static int EncodedLength(SseEvent ev, int idChars, int idBytes)
    {
        long length = 0;
        if (ev.Retry is int retry)
        {
            length += "retry: \n".Length + DigitsOf(retry);
        }

        if (idChars >= 0)
        {
            length += "id: \n".Length + idBytes;
        }

        if (!string.IsNullOrEmpty(ev.Type))
        {
            length += "event: \n".Length + Encoding.UTF8.GetByteCount(ev.Type);
        }

        var rest = ev.Data.AsSpan();
        while (true)
        {
            int eol = rest.IndexOfAny('\r', '\n');
            length += "data: \n".Length + Encoding.UTF8.GetByteCount(eol < 0 ? rest : rest[..eol]);
            if (eol < 0)
            {
                break;
            }

            rest = rest[(eol + LineBreakLength(rest, eol))..];
        }

        return checked((int)(length + 1));
    }

    private static int WriteRetry(Span<byte> frame, SseEvent ev) => ev.Retry is int retry ? WriteRetry(frame, retry) : 0;

    private static int WriteRetry(Span<byte> frame, int retry)
    {
        "retry: "u8.CopyTo(frame);
        retry.TryFormat(frame[7..], out int written, provider: CultureInfo.InvariantCulture);
        frame[7 + written] = (byte)'\n';
        return 8 + written;
    }

    // "id: " with its space: the parser drops exactly one leading space, so values that start with one survive.
    private static int WriteIdLine(Span<byte> frame, int at, string id)
    {
        "id: "u8.CopyTo(frame[at..]);
        at += 4;
        at += Encoding.UTF8.GetBytes(id, frame[at..]);
        frame[at] = (byte)'\n';
        return at + 1;
    }

    // The event: line, then every line of the payload as its own data: field (the client joins them with LF), then the
    // blank line that dispatches it.
    private static void WriteBody(Span<byte> frame, SseEvent ev)
    {
        int at = WriteType(frame, 0, ev.Type);
        var rest = ev.Data.AsSpan();
        while (true)
        {
            int eol = rest.IndexOfAny('\r', '\n');
            "data: "u8.CopyTo(frame[at..]);
            at += 6;
            at += Encoding.UTF8.GetBytes(eol < 0 ? rest : rest[..eol], frame[at..]);
            frame[at++] = (byte)'\n';
            if (eol < 0)
            {
                break;
            }

            rest = rest[(eol + LineBreakLength(rest, eol))..];
        }

        frame[at++] = (byte)'\n';
        Debug.Assert(at == frame.Length, "the length computed is the length written");
    }

    private static int WriteType(Span<byte> frame, int at, string? type)
    {
        if (string.IsNullOrEmpty(type))
        {
            return at;
        }

        "event: "u8.CopyTo(frame[at..]);
        at += 7 + Encoding.UTF8.GetBytes(type, frame[(at + 7)..]);
        frame[at++] = (byte)'\n';
        return at;
    }

    // CRLF is one line break, as are CR and LF alone.
    private static int LineBreakLength(ReadOnlySpan<char> text, int eol) => text[eol] == '\r' && eol + 1 < text.Length && text[eol + 1] == '\n' ? 2 : 1;

    /// <summary>
    /// Measures a form-encoded payload (a publish body's <c>data</c> value, still encoded) for
    /// <see cref="EncodeFormData"/>: its <c>data:</c> lines and its decoded bytes without the line breaks, decoded by
    /// <see cref="FormParser"/>'s rules ('+' is a space, <c>%XX</c> a byte, anything else itself).
    /// </summary>
    public static FormDataShape MeasureFormData(ReadOnlySpan<byte> encoded) => DecodeFormData(encoded, into: default);

    /// <summary>The length of the frame <see cref="EncodeFormData"/> makes, with an id of <paramref name="idBytes"/> bytes (-1: none).</summary>
    public static long FormFrameLength(FormDataShape shape, string? type, int idBytes, int? retry)
    {
        long length = (7L * shape.Lines) + shape.DataBytes + 1;
        length += retry is int r ? "retry: \n".Length + DigitsOf(r) : 0;
        length += idBytes >= 0 ? "id: \n".Length + idBytes : 0;
        length += string.IsNullOrEmpty(type) ? 0 : "event: \n".Length + Encoding.UTF8.GetByteCount(type);
        return length;
    }

    /// <summary>
    /// The frame of an event whose payload is the form-encoded <paramref name="encoded"/>, decoded straight into its
    /// <c>data:</c> lines (the only copy between the request's buffer and the frame), with its own id, or a slot for
    /// the id a hub assigns (<c>&lt;epoch&gt;-</c> and <paramref name="digits"/> digits). Null when the decoded payload
    /// is not UTF-8. <paramref name="type"/> and <paramref name="ownId"/> are valid fields (no CR, LF or NUL).
    /// </summary>
    public static SseEvent? EncodeFormData(ReadOnlySpan<byte> encoded, FormDataShape shape, string? type, string? ownId, int? retry, string epoch, int digits)
    {
        Debug.Assert(SseEvent.IsValidField(type) && SseEvent.IsValidField(ownId) && epoch.Length == 8);
        int idBytes = ownId is null ? epoch.Length + 1 + digits : Encoding.UTF8.GetByteCount(ownId);
        var frame = NewFrame(checked((int)FormFrameLength(shape, type, idBytes, retry)));
        int at = retry is int r ? WriteRetry(frame, r) : 0;
        int idAt = -1;
        if (ownId is not null)
        {
            at = WriteIdLine(frame, at, ownId);
        }
        else
        {
            "id: "u8.CopyTo(frame.AsSpan(at));
            idAt = at + 4;
            Encoding.ASCII.GetBytes(epoch, frame.AsSpan(idAt));
            frame[idAt + epoch.Length] = (byte)'-';
            frame.AsSpan(idAt + epoch.Length + 1, digits).Fill((byte)'0'); // every byte written before TryStampId
            frame[idAt + idBytes] = (byte)'\n';
            at = idAt + idBytes + 1;
        }

        at = WriteType(frame, at, type);
        int dataAt = at;
        at = WriteFormData(frame, at, encoded);
        frame[at++] = (byte)'\n';
        Debug.Assert(at == frame.Length, "the length measured is the length written");
        if (!System.Text.Unicode.Utf8.IsValid(frame.AsSpan(dataAt)))
        {
            return null;
        }

        var prepared = new PreparedFrame(frame, idAt, digits, ownId is null ? epoch : null, dataAt, shape.DataBytes);
        return new SseEvent(prepared, type, ownId, retry);
    }

    // Decodes a form-encoded payload into "data: " lines, each ending in LF; returns where it ended.
    private static int WriteFormData(Span<byte> frame, int at, ReadOnlySpan<byte> encoded)
    {
        var shape = DecodeFormData(encoded, frame[at..]);
        return at + (7 * shape.Lines) + shape.DataBytes;
    }

    // One walk for both: measures the payload's data: lines and decoded bytes, and when into is not empty also writes
    // the lines there, so what is measured is what is written.
    private static FormDataShape DecodeFormData(ReadOnlySpan<byte> encoded, Span<byte> into)
    {
        bool writing = !into.IsEmpty;
        int lines = 1, bytes = 0, at = 0, i = 0;
        bool afterCr = false;
        if (writing)
        {
            "data: "u8.CopyTo(into);
            at = 6;
        }

        while (i < encoded.Length)
        {
            int run = encoded[i..].IndexOfAny(s_formSpecial);
            if (run != 0)
            {
                run = run < 0 ? encoded.Length - i : run;
                if (writing)
                {
                    encoded.Slice(i, run).CopyTo(into[at..]);
                    at += run;
                }

                bytes += run;
                i += run;
                afterCr = false;
                continue;
            }

            byte b = DecodeSpecial(encoded, ref i);
            if (b == (byte)'\r' || (b == (byte)'\n' && !afterCr))
            {
                lines++;
                if (writing)
                {
                    "\ndata: "u8.CopyTo(into[at..]);
                    at += 7;
                }
            }
            else if (b != (byte)'\n')
            {
                bytes++;
                if (writing)
                {
                    into[at++] = b;
                }
            }

            afterCr = b == (byte)'\r';
        }

        if (writing)
        {
            into[at] = (byte)'\n';
        }

        return new FormDataShape(lines, bytes);
    }

    // The byte at encoded[i], which is one of s_formSpecial, decoded; i moves past it.
    private static byte DecodeSpecial(ReadOnlySpan<byte> encoded, ref int i)
    {
        byte b = encoded[i];
        if (b == (byte)'+')
        {
            i++;
            return (byte)' ';
        }

        if (b == (byte)'%' && i + 2 < encoded.Length && FormParser.IsHex(encoded[i + 1]) && FormParser.IsHex(encoded[i + 2]))
        {
            b = (byte)((FormParser.HexValue(encoded[i + 1]) << 4) | FormParser.HexValue(encoded[i + 2]));
            i += 3;
            return b;
        }

        i++;
        return b; // a raw CR or LF, or a '%' that starts no escape
    }

    private static readonly SearchValues<byte> s_formSpecial = SearchValues.Create("+%\r\n"u8);

    /// <summary>An upper bound of the bytes <see cref="Encode"/> writes for <paramref name="ev"/> with an id of <paramref name="idLength"/> characters.</summary>
    public static long MaxEncodedLength(SseEvent ev, int idLength)
    {
        // Each line break in the data (one or two characters) becomes "\ndata: ": at most 7 bytes for 1 character.
        var data = ev.Data.AsSpan();
        long breaks = data.Count('\r') + data.Count('\n');
        long length = Encoding.UTF8.GetByteCount(data) + (breaks * 6) + "data: \n\n".Length;
        length += "retry: \n".Length + 10 + "id: \n".Length + (3L * idLength);
        length += ev.Type is null ? 0 : "event: \n".Length + Encoding.UTF8.GetByteCount(ev.Type);
        return length;
    }

    private static void Append(ArrayBufferWriter<byte> buffer, ReadOnlySpan<byte> bytes) => buffer.Write(bytes);

    private static void Append(ArrayBufferWriter<byte> buffer, ReadOnlySpan<char> text)
    {
        var span = buffer.GetSpan(Encoding.UTF8.GetMaxByteCount(text.Length));
        buffer.Advance(Encoding.UTF8.GetBytes(text, span));
    }
}
