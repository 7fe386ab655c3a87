namespace RawSse.Http;

/// <summary>A request the server refuses: carries the status to answer with. The connection closes after it.</summary>
internal sealed class BadRequestException(int statusCode, string reason) : Exception(reason)
{
    public int StatusCode { get; } = statusCode;
}
