using System.Text;
using RawSse.Http;

namespace RawSse.Auth;

/// <summary>
/// Which pages may publish, or subscribe with a cookie, decided from the headers a browser cannot be made to omit (as Go 1.25's
/// <c>http.CrossOriginProtection</c> does). With <c>Sec-Fetch-Site</c>, only <c>same-origin</c> and <c>none</c> (the user's
/// own navigation) pass; without it, a request with an <c>Origin</c> passes only when that origin's host is the request's
/// <c>Host</c>; a request with neither is not from a browser and passes. An origin in <c>--cors-origins</c> always
/// passes, and gets the CORS headers a page there needs (a preflight included), credentials allowed: a cookie or an
/// <c>EventSource</c> opened <c>withCredentials</c> works from there and only from there.
/// </summary>
internal sealed class CrossOriginPolicy(IEnumerable<string> allowedOrigins)
{
    private readonly HashSet<string> _allowed = new(allowedOrigins.Select(o => o.TrimEnd('/')), StringComparer.OrdinalIgnoreCase);

    public bool IsAllowedOrigin(string? origin) => origin is not null && _allowed.Contains(origin);

    /// <summary>True when the request comes from a page of another origin that is not allowed to publish.</summary>
    public bool IsForbidden(HttpRequest request)
    {
        if (IsAllowedOrigin(request.Origin))
        {
            return false;
        }

        if (request.SecFetchSite is { } site)
        {
            return site is not ("same-origin" or "none");
        }

        return request.Origin is { } origin && !OriginIsHost(origin, request.Host);
    }

    /// <summary>The CORS header fields for an allowed origin (none for any other), with <c>Vary: Origin</c>.</summary>
    public byte[]? ResponseHeaders(HttpRequest request) =>
        IsAllowedOrigin(request.Origin)
            ? Encoding.ASCII.GetBytes($"Access-Control-Allow-Origin: {request.Origin}\r\nAccess-Control-Allow-Credentials: true\r\nVary: Origin\r\n")
            : null;

    /// <summary>The answer to a preflight from an allowed origin: POST with a bearer token (or cookie) and a form body, for ten minutes.</summary>
    public byte[]? PreflightHeaders(HttpRequest request) =>
        IsAllowedOrigin(request.Origin)
            ? Encoding.ASCII.GetBytes($"Access-Control-Allow-Origin: {request.Origin}\r\nAccess-Control-Allow-Credentials: true\r\nAccess-Control-Allow-Methods: POST\r\n" +
                "Access-Control-Allow-Headers: Authorization, Content-Type\r\nAccess-Control-Max-Age: 600\r\nVary: Origin\r\n")
            : null;

    // RFC 6454 §7: origin = scheme "://" host [ ":" port ]; "null" and anything else unparsable never matches.
    private static bool OriginIsHost(string origin, string? host)
    {
        int separator = origin.IndexOf("://", StringComparison.Ordinal);
        return host is not null && separator > 0 && origin.AsSpan(separator + 3).Equals(host, StringComparison.OrdinalIgnoreCase);
    }
}
