using System.Net.ServerSentEvents;
using System.Text;

namespace RawSse.Tests;

/// <summary>
/// How a failure message shows what arrived: line ends made visible, a response with its body, raw bytes with their
/// control characters escaped, events as the runtime's parser read them. One place, so every test shows them alike.
/// </summary>
internal static class Describe
{
    private const int TailChars = 500;

    /// <summary>CR and LF as <c>\r</c> and <c>\n</c>, so a message shows where lines end.</summary>
    public static string Escape(string text) => text.Replace("\r", "\\r").Replace("\n", "\\n");

    /// <summary>A response's head and body as they arrived.</summary>
    public static string Response(HttpResponse response) => Escape(response.RawHead + response.BodyText);

    /// <summary>What a read received before it gave up: all of it, or (past 500 characters) its size and its end.</summary>
    public static string Arrived(ReadOnlySpan<byte> received)
    {
        string text = Encoding.UTF8.GetString(received);
        return text.Length <= TailChars
            ? $"received: '{Escape(text)}'"
            : $"received {received.Length:N0} bytes, ending: '…{Escape(text[^TailChars..])}'";
    }

    /// <summary>Up to <paramref name="max"/> bytes from <paramref name="at"/>, quoted, with CR, LF, backslash and every byte outside printable ASCII escaped.</summary>
    public static string Bytes(ReadOnlySpan<byte> data, int at = 0, int max = 300)
    {
        var slice = data[Math.Min(at, data.Length)..];
        var text = new StringBuilder("'");
        foreach (byte b in slice[..Math.Min(slice.Length, max)])
        {
            text.Append(b switch
            {
                (byte)'\r' => "\\r",
                (byte)'\n' => "\\n",
                (byte)'\\' => "\\\\",
                >= 0x20 and < 0x7F => ((char)b).ToString(),
                _ => $"\\x{b:X2}",
            });
        }

        return text.Append(slice.Length > max ? "'…" : "'").ToString();
    }

    /// <summary>Events as the runtime's SSE parser yielded them: type, id and data of each.</summary>
    public static string Items(IEnumerable<SseItem<string>> items) =>
        "[" + string.Join(", ", items.Select(i => $"{i.EventType}#{i.EventId} '{Escape(i.Data)}'")) + "]";
}
