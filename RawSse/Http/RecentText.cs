using System.Text;

namespace RawSse.Http;

/// <summary>
/// A connection's last value of one request field, as text: a keep-alive client sends the same target, Host and
/// Content-Type request after request, and gets the same string back instead of a new one each time. Only a short
/// value is kept, so an idle keep-alive connection holds at most a few hundred bytes of them, not a long target's.
/// </summary>
internal struct RecentText
{
    private const int MaxKeptLength = 256;

    private string? _last;

    /// <summary>The text of <paramref name="bytes"/> (Latin-1, byte for character): the last one when they are the same.</summary>
    public string Get(ReadOnlySpan<byte> bytes)
    {
        if (_last is { } last && last.Length == bytes.Length && Ascii.Equals(bytes, last))
        {
            return last;
        }

        string text = Encoding.Latin1.GetString(bytes);
        _last = text.Length <= MaxKeptLength ? text : null;
        return text;
    }
}
