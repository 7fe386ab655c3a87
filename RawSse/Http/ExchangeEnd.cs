namespace RawSse.Http;

/// <summary>See <see cref="ExchangeResult"/>.</summary>
internal enum ExchangeEnd
{
    Continue,
    Close,
    Stream,
}
