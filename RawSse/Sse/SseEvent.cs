namespace RawSse.Sse;

/// <summary>
/// One server-sent event, validated when made. <see cref="SseFrames"/> encodes it to UTF-8 bytes once, however many
/// subscribers receive it.
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
}
