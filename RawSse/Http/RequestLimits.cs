namespace RawSse.Http;

/// <summary>The bounds the parser enforces on a request head (defaults in the spirit of Kestrel's).</summary>
internal readonly record struct RequestLimits(int MaxRequestLineBytes, int MaxHeaderBytes, int MaxHeaderCount)
{
    public static RequestLimits Default { get; } = new(8 * 1024, 32 * 1024, 100);
}
