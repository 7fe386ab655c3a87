using System.Net;
using System.Security.Cryptography;
using System.Text;
using RawSse.Http;
using RawSse.Sse;

namespace RawSse.Publishing;

/// <summary>
/// <c>POST /publish</c>: Mercure's form fields (<c>topic</c> repeatable, <c>data</c>, <c>id</c>, <c>type</c>,
/// <c>retry</c>) in, the event's id out. Authorisation is a bearer token compared in constant time; with no
/// token configured, only loopback clients may publish.
/// </summary>
internal sealed class PublishEndpoint
{
    private readonly Hub _hub;
    private readonly byte[]? _tokenHash;

    public PublishEndpoint(Hub hub, string? token)
    {
        _hub = hub;
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

    /// <summary>Validates the form and publishes. Returns the status and the text/plain body (the id, or why not).</summary>
    public (int Status, string Body) Publish(HttpRequest request, ReadOnlySpan<byte> body)
    {
        if (!IsFormContentType(request.ContentType))
        {
            return (415, "Content-Type must be application/x-www-form-urlencoded\n");
        }

        var fields = new List<KeyValuePair<string, string>>();
        if (!FormParser.TryParse(body, fields))
        {
            return (400, "malformed form body\n");
        }

        var topics = new List<string>();
        string? data = null, id = null, type = null, retryText = null;
        foreach (var (name, value) in fields)
        {
            switch (name)
            {
                case "topic":
                    topics.Add(value);
                    break;
                case "data":
                    data = value;
                    break;
                case "id":
                    id = value.Length == 0 ? null : value;
                    break;
                case "type":
                    type = value.Length == 0 ? null : value;
                    break;
                case "retry":
                    retryText = value;
                    break;
            }
        }

        if (topics.Count == 0)
        {
            return (400, "missing topic\n");
        }

        foreach (var topic in topics)
        {
            if (!Hub.IsValidTopic(topic))
            {
                return (400, "invalid topic: 1 to 256 characters, no control characters\n");
            }
        }

        if (!SseEvent.IsValidField(id) || !SseEvent.IsValidField(type))
        {
            return (400, "id and type must not contain CR, LF or NUL\n");
        }

        int? retry = null;
        if (retryText is not null)
        {
            // The spec's retry field is ASCII digits only.
            if (retryText.Length is 0 or > 9 || !retryText.All(char.IsAsciiDigit))
            {
                return (400, "retry must be 1 to 9 ASCII digits\n");
            }

            retry = int.Parse(retryText, System.Globalization.CultureInfo.InvariantCulture);
        }

        string eventId = _hub.Publish(topics, new SseEvent(data ?? "", type, id, retry));
        return (200, eventId);
    }

    private static bool IsFormContentType(string? contentType)
    {
        if (contentType is null)
        {
            return false;
        }

        var mediaType = contentType.AsSpan();
        int semicolon = mediaType.IndexOf(';');
        if (semicolon >= 0)
        {
            mediaType = mediaType[..semicolon];
        }

        return mediaType.Trim().Equals("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase);
    }

    private static bool IsLoopback(IPAddress address) =>
        IPAddress.IsLoopback(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address);
}
