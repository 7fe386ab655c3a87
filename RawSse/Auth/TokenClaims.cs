using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace RawSse.Auth;

/// <summary>
/// What a valid token grants, from its <c>mercure</c> claim (Mercure, "Authorization"): <c>publish</c>, the topic
/// selectors it may publish to; <c>subscribe</c>, the selectors of the private updates it may receive; <c>payload</c>,
/// any JSON kept with a subscription. A claim that is absent grants nothing; one that is not a list of strings, or
/// lists more than <see cref="MaxSelectors"/>, makes the whole token invalid.
/// </summary>
internal sealed class TokenClaims
{
    public const int MaxSelectors = 128;

    private TokenClaims(string[]? publish, string[]? subscribe, string? payload, DateTimeOffset? expires)
    {
        Publish = publish;
        Subscribe = subscribe;
        Payload = payload;
        Expires = expires;
    }

    /// <summary>Claims made in process (an embedding program's own subscriber, tests).</summary>
    internal static TokenClaims Create(string[]? publish = null, string[]? subscribe = null, string? payload = null, DateTimeOffset? expires = null) =>
        new(publish, subscribe, payload, expires);

    /// <summary>The claims of the <c>--publish-token</c>: every topic, nothing else.</summary>
    public static TokenClaims PublishAnything { get; } = new(["*"], null, null, null);

    public IReadOnlyList<string>? Publish { get; }

    public IReadOnlyList<string>? Subscribe { get; }

    /// <summary><c>mercure.payload</c> as its JSON text, or null.</summary>
    public string? Payload { get; }

    /// <summary>The token's <c>exp</c>, or null when it has none.</summary>
    public DateTimeOffset? Expires { get; }

    /// <summary>The claims of a token whose signature and lifetime were checked; null when they are malformed.</summary>
    public static TokenClaims? Read(JsonWebToken token)
    {
        DateTimeOffset? expires = token.TryGetPayloadValue<long>("exp", out long exp) ? DateTimeOffset.FromUnixTimeSeconds(exp) : null;
        try
        {
            using var payload = JsonDocument.Parse(Base64UrlEncoder.DecodeBytes(token.EncodedPayload));
            if (!payload.RootElement.TryGetProperty("mercure", out var mercure))
            {
                return new TokenClaims(null, null, null, expires);
            }

            if (mercure.ValueKind != JsonValueKind.Object
                || !TryReadSelectors(mercure, "publish", out var publish)
                || !TryReadSelectors(mercure, "subscribe", out var subscribe))
            {
                return null;
            }

            string? data = mercure.TryGetProperty("payload", out var value) ? value.GetRawText() : null;
            return new TokenClaims(publish, subscribe, data, expires);
        }
        catch (Exception ex) when (ex is JsonException or FormatException or ArgumentException)
        {
            return null;
        }
    }

    private static bool TryReadSelectors(JsonElement mercure, string name, out string[]? selectors)
    {
        selectors = null;
        if (!mercure.TryGetProperty(name, out var list) || list.ValueKind == JsonValueKind.Null)
        {
            return true;
        }

        if (list.ValueKind != JsonValueKind.Array || list.GetArrayLength() > MaxSelectors)
        {
            return false;
        }

        var read = new List<string>(list.GetArrayLength());
        foreach (var item in list.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String || !TopicSelector.IsValid(item.GetString()))
            {
                return false;
            }

            read.Add(item.GetString()!);
        }

        selectors = [.. read];
        return true;
    }
}
