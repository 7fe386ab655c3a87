using System.Globalization;
using System.Security.Cryptography;

namespace RawSse.Sse;

/// <summary>
/// The ids a hub assigns: <c>&lt;epoch&gt;-&lt;sequence&gt;</c>. The epoch is 8 random characters made once per hub, so
/// an id from another process or another hub never matches one of this hub's; the sequence is the event's position
/// in this hub, strictly increasing. Such an id names a position even when its event is no longer kept.
/// </summary>
public sealed class EventIds
{
    private const string Alphabet = "0123456789abcdefghijklmnopqrstuvwxyz";
    private const int EpochLength = 8;

    public EventIds()
        : this(NewEpoch())
    {
    }

    /// <summary>The ids of a log whose epoch is <paramref name="epoch"/> (a durable log keeps its epoch across restarts).</summary>
    public EventIds(string epoch)
    {
        if (!IsEpoch(epoch))
        {
            throw new ArgumentException($"an epoch is {EpochLength} characters of [0-9a-z]", nameof(epoch));
        }

        Epoch = epoch;
    }

    /// <summary>A fresh epoch: 8 random characters of [0-9a-z].</summary>
    public static string NewEpoch() => RandomNumberGenerator.GetString(Alphabet, EpochLength);

    public static bool IsEpoch(string? epoch) => epoch is { Length: EpochLength } && epoch.AsSpan().IndexOfAnyExcept(Alphabet) < 0;

    public string Epoch { get; }

    public string Format(long sequence) =>
        sequence < 0
            ? string.Create(CultureInfo.InvariantCulture, $"{Epoch}-{sequence}")
            : string.Create(Epoch.Length + 1 + SseFrames.DigitsOf(sequence), (Epoch, sequence), static (text, state) =>
            {
                state.Epoch.CopyTo(text);
                text[state.Epoch.Length] = '-';
                state.sequence.TryFormat(text[(state.Epoch.Length + 1)..], out _, provider: CultureInfo.InvariantCulture);
            });

    /// <summary>True when <paramref name="id"/> is one of this hub's, with the position it names.</summary>
    public bool TryParse(string id, out long sequence)
    {
        sequence = 0;
        return id.Length > EpochLength + 1 && id[EpochLength] == '-' && id.StartsWith(Epoch, StringComparison.Ordinal)
            && long.TryParse(id.AsSpan(EpochLength + 1), NumberStyles.None, CultureInfo.InvariantCulture, out sequence);
    }
}
