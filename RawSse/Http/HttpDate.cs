using System.Globalization;
using System.Text;

namespace RawSse.Http;

/// <summary>The IMF-fixdate for the Date header (RFC 9110 §5.6.7), formatted at most once a second and shared.</summary>
internal static class HttpDate
{
    private static byte[] s_bytes = Format(DateTimeOffset.UtcNow);
    private static long s_second = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    public static ReadOnlySpan<byte> Current
    {
        get
        {
            var now = DateTimeOffset.UtcNow;
            long second = now.ToUnixTimeSeconds();
            if (second != Volatile.Read(ref s_second))
            {
                // Benign race: two threads may both format the same second; each publishes a complete array.
                Volatile.Write(ref s_bytes, Format(now));
                Volatile.Write(ref s_second, second);
            }

            return Volatile.Read(ref s_bytes);
        }
    }

    public static string ToHttpDate(DateTimeOffset time) => time.ToUniversalTime().ToString("r", CultureInfo.InvariantCulture);

    public static bool TryParse(string? value, out DateTimeOffset time) =>
        DateTimeOffset.TryParseExact(value, "r", CultureInfo.InvariantCulture,
            DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out time);

    private static byte[] Format(DateTimeOffset time) => Encoding.ASCII.GetBytes(ToHttpDate(time));
}
