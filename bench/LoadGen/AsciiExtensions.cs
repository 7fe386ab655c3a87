namespace LoadGen;

internal static class AsciiExtensions
{
    public static bool EqualsAsciiIgnoreCase(this ReadOnlySpan<byte> span, ReadOnlySpan<byte> lowerCase) =>
        System.Text.Ascii.EqualsIgnoreCase(span, lowerCase);
}
