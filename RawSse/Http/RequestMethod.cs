namespace RawSse.Http;

/// <summary>The methods RFC 9110 §9 defines; anything else is answered 501.</summary>
internal enum RequestMethod
{
    Get,
    Head,
    Post,
    Put,
    Delete,
    Options,
    Patch,
    Trace,
    Connect,
}
