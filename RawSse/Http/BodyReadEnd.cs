namespace RawSse.Http;

/// <summary>See <see cref="BodyRead"/>.</summary>
internal enum BodyReadEnd
{
    Complete,
    Closed,
    Canceled,
    Refused,
}
