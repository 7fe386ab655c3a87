using RawSse.Http;

namespace RawSse.Auth;

/// <summary>
/// Who may subscribe, and to what private updates: a request's token (see <see cref="TokenSource"/>) checked with the
/// subscriber keys. An invalid token is refused with 401, never taken as anonymous; a token in a cookie is refused with
/// 403 from a page the <see cref="CrossOriginPolicy"/> does not allow (a foreign page must not read what the user's
/// cookie grants); no token is an anonymous subscriber, who receives public updates, unless anonymous subscribers are
/// refused (401). With no subscriber key, nobody can prove anything: tokens are not read and every subscriber is
/// anonymous.
/// </summary>
internal sealed class SubscribeAuthorizer(JwtValidator? validator, bool allowAnonymous, CrossOriginPolicy crossOrigin)
{
    public async ValueTask<AuthResult> AuthorizeAsync(HttpRequest request, string? queryToken)
    {
        if (validator is null)
        {
            return AuthResult.Allow(null);
        }

        var (token, origin) = TokenSource.Find(request, queryToken);
        if (token is null)
        {
            return allowAnonymous ? AuthResult.Allow(null) : AuthResult.Deny(401, "subscribe without a token");
        }

        if (origin == TokenOrigin.Cookie && crossOrigin.IsForbidden(request))
        {
            return AuthResult.Deny(403, "subscribe with a cookie from another site's page");
        }

        var claims = await validator.ValidateAsync(token).ConfigureAwait(false);
        return claims is null ? AuthResult.Deny(401, "subscribe with an invalid token") : AuthResult.Allow(claims);
    }
}
