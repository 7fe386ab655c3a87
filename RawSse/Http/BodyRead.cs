namespace RawSse.Http;

/// <summary>How reading a request body ended: complete, or why not (and, when refused, the status to answer).</summary>
internal readonly record struct BodyRead(BodyReadEnd End, int Status = 0, string? Reason = null)
{
    public static BodyRead Complete => new(BodyReadEnd.Complete);

    /// <summary>The client closed before the body was complete.</summary>
    public static BodyRead Closed => new(BodyReadEnd.Closed);

    /// <summary>The read was cancelled: the server is stopping, or the request timeout fired.</summary>
    public static BodyRead Canceled => new(BodyReadEnd.Canceled);

    public static BodyRead Refused(BadRequestException ex) => new(BodyReadEnd.Refused, ex.StatusCode, ex.Message);

    public static BodyRead Refused(int status, string reason) => new(BodyReadEnd.Refused, status, reason);
}
