using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace RawSse.Tests;

/// <summary>
/// Real JWTs for the tests, minted with the same library the server validates with (and, for the attacks, put
/// together by hand the way an attacker would): HS256 with <see cref="Secret"/>, RS256 and ES256 with fresh key pairs
/// whose public halves are written as PEM files.
/// </summary>
internal static class Tokens
{
    /// <summary>The key Mercure's own examples and conformance suite use (34 bytes).</summary>
    public const string Secret = "!ChangeThisMercureHubJWTSecretKey!";

    private static readonly JsonWebTokenHandler s_handler = new();

    public static readonly RSA Rsa = RSA.Create(2048);
    public static readonly ECDsa Ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    /// <summary>The <c>mercure</c> claim: publish and subscribe selectors, and a payload (any JSON value), each left out when null.</summary>
    public static Dictionary<string, object> Mercure(string[]? publish = null, string[]? subscribe = null, object? payload = null)
    {
        var mercure = new Dictionary<string, object>();
        if (publish is not null)
        {
            mercure["publish"] = publish;
        }

        if (subscribe is not null)
        {
            mercure["subscribe"] = subscribe;
        }

        if (payload is not null)
        {
            mercure["payload"] = payload;
        }

        return new Dictionary<string, object> { ["mercure"] = mercure };
    }

    public static string Hs256(Dictionary<string, object> claims, DateTime? expires = null, DateTime? notBefore = null, string secret = Secret) =>
        Sign(claims, new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(secret)), SecurityAlgorithms.HmacSha256), expires, notBefore);

    public static string Rs256(Dictionary<string, object> claims, DateTime? expires = null) =>
        Sign(claims, new SigningCredentials(new RsaSecurityKey(Rsa), SecurityAlgorithms.RsaSha256), expires, null);

    public static string Es256(Dictionary<string, object> claims, DateTime? expires = null) =>
        Sign(claims, new SigningCredentials(new ECDsaSecurityKey(Ec), SecurityAlgorithms.EcdsaSha256), expires, null);

    /// <summary>An unsigned token (<c>alg: none</c>, empty signature), as RFC 7519 §6.1 writes it.</summary>
    public static string None(Dictionary<string, object> claims) =>
        $"{Encode(new Dictionary<string, object> { ["alg"] = "none", ["typ"] = "JWT" })}.{Encode(claims)}.";

    /// <summary>The key-confusion attack: an HS256 token whose HMAC key is the server's RSA public key, as PEM text.</summary>
    public static string Hs256WithPublicKey(Dictionary<string, object> claims)
    {
        string header = Encode(new Dictionary<string, object> { ["alg"] = "HS256", ["typ"] = "JWT" });
        string body = Encode(claims);
        byte[] mac = HMACSHA256.HashData(Encoding.UTF8.GetBytes(RsaPublicPem), Encoding.ASCII.GetBytes($"{header}.{body}"));
        return $"{header}.{body}.{Base64UrlEncoder.Encode(mac)}";
    }

    public static string RsaPublicPem => Rsa.ExportSubjectPublicKeyInfoPem();

    public static string EcPublicPem => Ec.ExportSubjectPublicKeyInfoPem();

    /// <summary>Writes <paramref name="pem"/> to a fresh temporary file and returns its path.</summary>
    public static string WritePem(string pem)
    {
        string path = Path.Combine(Directory.CreateTempSubdirectory("rawsse-key-").FullName, "key.pem");
        File.WriteAllText(path, pem);
        return path;
    }

    private static string Sign(Dictionary<string, object> claims, SigningCredentials credentials, DateTime? expires, DateTime? notBefore)
    {
        var descriptor = new SecurityTokenDescriptor { Claims = claims, SigningCredentials = credentials };
        if (expires is { } exp)
        {
            descriptor.Expires = exp;
        }

        if (notBefore is { } nbf)
        {
            descriptor.NotBefore = nbf;
        }

        // Mercure's tokens carry no iat/nbf/exp unless asked for.
        s_handler.SetDefaultTimesOnTokenCreation = false;
        return s_handler.CreateToken(descriptor);
    }

    private static string Encode(object value) => Base64UrlEncoder.Encode(JsonSerializer.SerializeToUtf8Bytes(value));
}
