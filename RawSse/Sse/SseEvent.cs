namespace RawSse.Sse;

/// <summary>
/// One server-sent event, validated when made. <see cref="SseFrames"/> encodes it to UTF-8 bytes once, however many
/// subscribers receive it. An event made from a publish body (<see cref="Prepared"/>) arrives already framed: its
/// data was decoded straight from the body into its <c>data:</c> lines, and <see cref="Data"/> is read back from them
/// only if something asks for it (a store).
/// </summary>
public sealed class SseEvent
{
    private string? _data;
    private readonly PreparedFrame? _prepared;

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

        _data = data;
        Type = type;
        Id = id;
        Retry = retry;
    }

    // Validated by its maker (SseFrames.EncodeFormData): type and id are fields without CR, LF or NUL.
    internal SseEvent(PreparedFrame prepared, string? type, string? id, int? retry)
    {
        _prepared = prepared;
        Type = type;
        Id = id;
        Retry = retry;
    }

    /// <summary>The payload; for an event made from a publish body, its lines joined with LF (CR and CRLF became LF).</summary>
    public string Data => _data ??= _prepared!.ReadData();
    public string? Type { get; }
    public string? Id { get; }
    public int? Retry { get; }

    /// <summary>The frame this event was made with, or null when it was made from text.</summary>
    internal PreparedFrame? Prepared => _prepared;

    /// <summary>The payload's size for retention accounting: its characters, or its UTF-8 bytes when made from a body.</summary>
    internal int DataSize => _data?.Length ?? _prepared!.DataBytes;

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
