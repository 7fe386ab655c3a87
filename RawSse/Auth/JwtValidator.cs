using System.Security.Cryptography;
using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace RawSse.Auth;

/// <summary>
/// Checks a JWT's signature, <c>exp</c> and <c>nbf</c> with <c>Microsoft.IdentityModel.JsonWebTokens</c>, and reads its
/// Mercure claims. Every key pins its algorithms by its type: an HMAC secret takes HS256/384/512 only, an RSA key
/// RS/PS256/384/512 only, an EC key only the ES algorithm of its curve. A token is checked against the keys whose
/// algorithms include its <c>alg</c>, so <c>none</c>, or an HS256 token "signed" with an RSA public key, finds no key.
/// </summary>
internal sealed class JwtValidator
{
    /// <summary>RFC 7519 §4.1.4: "some small leeway ... to account for clock skew".</summary>
    public static readonly TimeSpan ClockSkew = TimeSpan.FromSeconds(10);

    /// <summary>RFC 7518 §3.2: "A key of the same size as the hash output ... or larger MUST be used" with HS256.</summary>
    public const int MinSecretBytes = 32;

    private static readonly string[] s_hmac = [SecurityAlgorithms.HmacSha256, SecurityAlgorithms.HmacSha384, SecurityAlgorithms.HmacSha512];
    private static readonly string[] s_rsa =
    [
        SecurityAlgorithms.RsaSha256, SecurityAlgorithms.RsaSha384, SecurityAlgorithms.RsaSha512,
        SecurityAlgorithms.RsaSsaPssSha256, SecurityAlgorithms.RsaSsaPssSha384, SecurityAlgorithms.RsaSsaPssSha512,
    ];

    private readonly JsonWebTokenHandler _handler = new() { MapInboundClaims = false };
    private readonly (string[] Algorithms, TokenValidationParameters Parameters)[] _keys;

    private JwtValidator((string[] Algorithms, TokenValidationParameters Parameters)[] keys) => _keys = keys;

    /// <summary>Algorithms this validator takes, for the start-up log and errors.</summary>
    public IEnumerable<string> Algorithms => _keys.SelectMany(k => k.Algorithms);

    /// <summary>
    /// A validator for an HMAC <paramref name="secret"/> and/or a PEM public key (<paramref name="publicKeyPem"/>, RSA or
    /// EC); null when both are null.
    /// </summary>
    /// <exception cref="ArgumentException">A secret shorter than <see cref="MinSecretBytes"/>, or a PEM holding no RSA or EC public key.</exception>
    public static JwtValidator? Create(string? secret, string? publicKeyPem)
    {
        var keys = new List<(string[], TokenValidationParameters)>();
        if (!string.IsNullOrEmpty(secret))
        {
            var bytes = Encoding.UTF8.GetBytes(secret);
            if (bytes.Length < MinSecretBytes)
            {
                throw new ArgumentException($"a JWT secret must be at least {MinSecretBytes} bytes (RFC 7518 §3.2); this one is {bytes.Length}");
            }

            keys.Add((s_hmac, Parameters(new SymmetricSecurityKey(bytes), s_hmac)));
        }

        if (!string.IsNullOrEmpty(publicKeyPem))
        {
            keys.Add(PublicKey(publicKeyPem));
        }

        return keys.Count == 0 ? null : new JwtValidator([.. keys]);
    }

    /// <summary>
    /// The token's claims when its signature is good and it is within <c>nbf</c>..<c>exp</c> (± <see cref="ClockSkew"/>);
    /// otherwise null. Never throws for any input.
    /// </summary>
    public async ValueTask<TokenClaims?> ValidateAsync(string token)
    {
        string? algorithm;
        try
        {
            algorithm = _handler.CanReadToken(token) ? _handler.ReadJsonWebToken(token).Alg : null;
        }
        catch (ArgumentException)
        {
            return null;
        }

        foreach (var (algorithms, parameters) in _keys)
        {
            if (algorithm is null || !algorithms.Contains(algorithm, StringComparer.Ordinal))
            {
                continue;
            }

            var result = await _handler.ValidateTokenAsync(token, parameters).ConfigureAwait(false);
            if (result.IsValid && result.SecurityToken is JsonWebToken jwt)
            {
                return TokenClaims.Read(jwt);
            }
        }

        return null;
    }

    private static (string[], TokenValidationParameters) PublicKey(string pem)
    {
        var rsa = RSA.Create();
        try
        {
            rsa.ImportFromPem(pem);
            return (s_rsa, Parameters(new RsaSecurityKey(rsa), s_rsa));
        }
        catch (ArgumentException)
        {
            rsa.Dispose();
        }
        catch (CryptographicException)
        {
            rsa.Dispose();
        }

        var ec = ECDsa.Create();
        try
        {
            ec.ImportFromPem(pem);
        }
        catch (Exception ex) when (ex is ArgumentException or CryptographicException)
        {
            ec.Dispose();
            throw new ArgumentException("the public key file holds no PEM RSA or EC public key", ex);
        }

        // RFC 7518 §3.4: ES256 is P-256, ES384 P-384, ES512 P-521.
        string[] algorithm = ec.KeySize switch
        {
            256 => [SecurityAlgorithms.EcdsaSha256],
            384 => [SecurityAlgorithms.EcdsaSha384],
            521 => [SecurityAlgorithms.EcdsaSha512],
            _ => throw new ArgumentException($"an EC key of {ec.KeySize} bits has no JWS algorithm (P-256, P-384 or P-521)"),
        };
        return (algorithm, Parameters(new ECDsaSecurityKey(ec), algorithm));
    }

    private static TokenValidationParameters Parameters(SecurityKey key, string[] algorithms) => new()
    {
        IssuerSigningKey = key,
        ValidAlgorithms = algorithms,
        RequireSignedTokens = true,
        ValidateIssuerSigningKey = false,
        ValidateIssuer = false,
        ValidateAudience = false,
        ValidateLifetime = true,
        RequireExpirationTime = false, // Mercure's tokens often have no exp; one that has it is held to it
        ClockSkew = ClockSkew,
    };
}
