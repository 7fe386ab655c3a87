using System.Buffers;
using System.Text;

namespace RawSse.Sse;

/// <summary>
/// One server-sent event. It is validated when made and encoded to UTF-8 bytes once, however many
/// subscribers receive it (WHATWG HTML, "Server-sent events", §9.2.6 Interpreting an event stream).
/// </summary>
public sealed class SseEvent
{
    /// <param name="data">The payload; any text. Each line (split on CRLF, CR or LF) becomes one <c>data:</c> line.</param>
    /// <param name="type">The event name (<c>event:</c>), or null for the default "message".</param>
    /// <param name="id">The event id, or null to let the hub assign the next sequence number.</param>
    /// <param name="retry">A reconnection time in milliseconds to send with the event, or null.</param>
    /// <exception cref="ArgumentException">An id or type containing CR, LF or NUL, which would let a publisher forge events.</exception>
    public SseEvent(string data, string? type = null, string? id = null, int? retry = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        ValidateField(type, nameof(type));
        ValidateField(id, nameof(id));
        if (retry is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(retry), retry, "retry must be a non-negative number of milliseconds");
        }

        Data = data;
        Type = type;
        Id = id;
        Retry = retry;
    }

    public string Data { get; }
    public string? Type { get; }
    public string? Id { get; }
    public int? Retry { get; }

    /// <summary>True when <paramref name="value"/> can be written as an id or event name: no CR, LF or NUL.</summary>
    public static bool IsValidField(string? value) => value is null || value.AsSpan().IndexOfAny('\r', '\n', '\0') < 0;

    private static void ValidateField(string? value, string name)
    {
        if (!IsValidField(value))
        {
            throw new ArgumentException($"{name} must not contain CR, LF or NUL", name);
        }
    }

    /// <summary>Encodes the event with <paramref name="id"/> (the given or the assigned one) as a complete frame ending in a blank line.</summary>
    internal byte[] Encode(string? id)
    {
        var buffer = new ArrayBufferWriter<byte>(64 + Data.Length);
        if (Retry is int retry)
        {
            Append(buffer, "retry: "u8);
            Append(buffer, retry.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Append(buffer, "\n"u8);
        }

        if (id is not null)
        {
            // "id: " with its space: the parser drops exactly one leading space, so values that start with one survive.
            Append(buffer, "id: "u8);
            Append(buffer, id);
            Append(buffer, "\n"u8);
        }

        if (!string.IsNullOrEmpty(Type))
        {
            Append(buffer, "event: "u8);
            Append(buffer, Type);
            Append(buffer, "\n"u8);
        }

        // Every line of the payload gets its own data: field; the client joins them with LF.
        var rest = Data.AsSpan();
        while (true)
        {
            int eol = rest.IndexOfAny('\r', '\n');
            Append(buffer, "data: "u8);
            Append(buffer, eol < 0 ? rest : rest[..eol]);
            Append(buffer, "\n"u8);
            if (eol < 0)
            {
                break;
            }

            int skip = rest[eol] == '\r' && eol + 1 < rest.Length && rest[eol + 1] == '\n' ? 2 : 1;
            rest = rest[(eol + skip)..];
        }

        Append(buffer, "\n"u8);
        return buffer.WrittenSpan.ToArray();
    }

    private static void Append(ArrayBufferWriter<byte> buffer, ReadOnlySpan<byte> bytes) => buffer.Write(bytes);

    private static void Append(ArrayBufferWriter<byte> buffer, ReadOnlySpan<char> text)
    {
        var span = buffer.GetSpan(Encoding.UTF8.GetMaxByteCount(text.Length));
        buffer.Advance(Encoding.UTF8.GetBytes(text, span));
    }
}
