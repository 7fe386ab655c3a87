using System.Net;
using System.Security.Cryptography;
using System.Text;
using RawSse.Http;

namespace RawSse.Publishing;

/// <summary>
/// Who may publish: with a token configured, a request carrying it as <c>Authorization: Bearer</c> (compared in
/// constant time); with none, only loopback clients.
/// </summary>
internal sealed class PublishAuthorizer
{
    private readonly byte[]? _tokenHash;

    public PublishAuthorizer(string? token)
    {
        // Hashing both sides first makes the comparison constant-time in the token's length as well.
        _tokenHash = string.IsNullOrEmpty(token) ? null : SHA256.HashData(Encoding.UTF8.GetBytes(token));
    }

    /// <summary>Decided from the head alone, before any body is read: 0 to go on, else 401 or 403.</summary>
    public int Authorize(HttpRequest request, IPAddress remote)
    {
        if (_tokenHash is null)
        {
            return IsLoopback(remote) ? 0 : 403;
        }

        var header = request.Authorization;
        if (header is null || !header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return 401;
        }

        var given = SHA256.HashData(Encoding.UTF8.GetBytes(header.AsSpan(7).Trim().ToString()));
        return CryptographicOperations.FixedTimeEquals(given, _tokenHash) ? 0 : 401;
    }

    private static bool IsLoopback(IPAddress address) =>
        IPAddress.IsLoopback(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address);
}
