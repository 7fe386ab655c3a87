using System.Net;
using System.Security.Cryptography;
using System.Text;
using RawSse.Auth;
using RawSse.Http;

namespace RawSse.Publishing;

/// <summary>
/// Who may publish, decided from the head before any body is read. With neither a publish token nor a publisher key
/// configured, only loopback clients, to any topic. Otherwise a token is required (401 without one): the
/// <c>--publish-token</c> as <c>Authorization: Bearer</c> (compared in constant time) may publish anywhere; a JWT
/// checked with the publisher keys may publish where its <c>mercure.publish</c> claim allows (403 when it has none).
/// The topics themselves are checked against the claim once the body is read (<see cref="PublishForm"/>).
/// </summary>
internal sealed class PublishAuthorizer
{
    private readonly byte[]? _tokenHash;
    private readonly JwtValidator? _validator;

    public PublishAuthorizer(string? token, JwtValidator? validator = null)
    {
        // Hashing both sides first makes the comparison constant-time in the token's length as well.
        _tokenHash = string.IsNullOrEmpty(token) ? null : SHA256.HashData(Encoding.UTF8.GetBytes(token));
        _validator = validator;
    }

    public async ValueTask<AuthResult> AuthorizeAsync(HttpRequest request, IPAddress remote)
    {
        if (_tokenHash is null && _validator is null)
        {
            return IsLoopback(remote) ? AuthResult.Allow(TokenClaims.PublishAnything) : AuthResult.Deny(403, "publish from a client that may not");
        }

        var (token, origin) = TokenSource.Find(request, queryToken: null);
        if (token is null)
        {
            return AuthResult.Deny(401, "publish without a token");
        }

        if (_tokenHash is not null && origin == TokenOrigin.Header
            && CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(token)), _tokenHash))
        {
            return AuthResult.Allow(TokenClaims.PublishAnything);
        }

        if (_validator is null || await _validator.ValidateAsync(token).ConfigureAwait(false) is not { } claims)
        {
            return AuthResult.Deny(401, "publish with an invalid token");
        }

        // Mercure: with no mercure.publish claim, or an empty one, the publisher "MUST NOT be authorized to dispatch any update".
        return claims.Publish is { Count: > 0 } ? AuthResult.Allow(claims) : AuthResult.Deny(403, "publish with a token that grants no topic");
    }

    private static bool IsLoopback(IPAddress address) =>
        IPAddress.IsLoopback(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address);
}
