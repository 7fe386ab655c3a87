namespace RawSse.Auth;

/// <summary>
/// The outcome of authorizing a request from its head: <see cref="Status"/> 0 to go on (with the token's claims, or
/// none for an anonymous subscriber), else 401 or 403 and why, for the log.
/// </summary>
internal readonly record struct AuthResult(int Status, TokenClaims? Claims, string Reason)
{
    public bool Allowed => Status == 0;

    public static AuthResult Allow(TokenClaims? claims) => new(0, claims, "");

    public static AuthResult Deny(int status, string reason) => new(status, null, reason);
}
