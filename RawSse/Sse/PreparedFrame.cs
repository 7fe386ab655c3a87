using System.Text;

namespace RawSse.Sse;

/// <summary>
/// The frame an event was encoded into when it was made from a publish body, before any lock: the hub takes it once
/// (<see cref="TryTake"/>) instead of encoding the event itself. An event the hub assigns the id to has a slot for it
/// (<c>&lt;epoch&gt;-</c> and <see cref="IdDigits"/> digits at <see cref="IdAt"/>), stamped once the position is known.
/// </summary>
internal sealed class PreparedFrame(byte[] frame, int idAt, int idDigits, string? epoch, int dataAt, int dataBytes)
{
    private int _taken;

    public byte[] Frame { get; } = frame;

    /// <summary>Where the id slot's epoch starts, or -1 when the frame carries the event's own id.</summary>
    public int IdAt { get; } = idAt;

    public int IdDigits { get; } = idDigits;

    /// <summary>The epoch written in the slot; a hub of another epoch encodes the event afresh.</summary>
    public string? Epoch { get; } = epoch;

    /// <summary>The payload's UTF-8 bytes, line breaks not counted.</summary>
    public int DataBytes { get; } = dataBytes;

    /// <summary>True the first time: the caller owns the frame (and stamps its slot); false after, when it is shared.</summary>
    public bool TryTake() => Interlocked.Exchange(ref _taken, 1) == 0;

    /// <summary>The payload back from the frame's <c>data:</c> lines, joined with LF.</summary>
    public string ReadData()
    {
        var lines = Frame.AsSpan(dataAt, Frame.Length - dataAt - 1); // without the blank line's LF
        if (lines[..^1].IndexOf((byte)'\n') < 0)
        {
            return Encoding.UTF8.GetString(lines[6..^1]); // one line: after "data: ", before its LF
        }

        var text = new StringBuilder(DataBytes + 16);
        bool first = true;
        foreach (var range in lines[..^1].Split((byte)'\n'))
        {
            if (!first)
            {
                text.Append('\n');
            }

            first = false;
            text.Append(Encoding.UTF8.GetString(lines[range][6..])); // after "data: "
        }

        return text.ToString();
    }
}
