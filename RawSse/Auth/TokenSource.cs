using RawSse.Http;

namespace RawSse.Auth;

/// <summary>Where a request's token came from; a cookie is what a foreign page can make a browser send.</summary>
internal enum TokenOrigin
{
    None,
    Header,
    Cookie,
    Query,
}

/// <summary>
/// Finds a request's token, in Mercure's order: <c>Authorization: Bearer</c>, then the <c>mercureAuthorization</c>
/// cookie, then the <c>authorization</c> query parameter (for <c>EventSource</c>, which cannot set headers). The query's
/// token is never logged: nothing logs a request's target.
/// </summary>
internal static class TokenSource
{
    public const string CookieName = "mercureAuthorization";
    public const string QueryParameter = "authorization";

    public static (string? Token, TokenOrigin Origin) Find(HttpRequest request, string? queryToken)
    {
        if (request.Authorization is { } header && header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return (header[7..].Trim(), TokenOrigin.Header);
        }

        if (request.Cookie is { } cookies && FindCookie(cookies, CookieName) is { Length: > 0 } cookie)
        {
            return (cookie, TokenOrigin.Cookie);
        }

        return string.IsNullOrEmpty(queryToken) ? (null, TokenOrigin.None) : (queryToken, TokenOrigin.Query);
    }

    // RFC 6265 §4.2.1: cookie-string = cookie-pair *( ";" SP cookie-pair ); a quoted value loses its quotes (§4.1.1).
    private static string? FindCookie(string cookies, string name)
    {
        foreach (var range in cookies.AsSpan().Split(';'))
        {
            var pair = cookies.AsSpan(range).Trim(' ');
            int equals = pair.IndexOf('=');
            if (equals > 0 && pair[..equals].Trim(' ').SequenceEqual(name))
            {
                var value = pair[(equals + 1)..].Trim(' ');
                if (value.Length >= 2 && value[0] == '"' && value[^1] == '"')
                {
                    value = value[1..^1];
                }

                return value.ToString();
            }
        }

        return null;
    }
}
