using System.Globalization;
using System.Text;

namespace RawSse.Tests;

/// <summary><c>POST /publish</c> requests written by hand, as exact bytes.</summary>
internal static class Publishing
{
    public const string FormContentType = "application/x-www-form-urlencoded";

    /// <summary>A complete publish request: the head (Content-Type and Authorization only when given) and <paramref name="body"/> as UTF-8.</summary>
    public static byte[] Request(string body, string? authorization = null, string? contentType = FormContentType, string host = "test")
    {
        byte[] content = Encoding.UTF8.GetBytes(body);
        var head = new StringBuilder($"POST /publish HTTP/1.1\r\nHost: {host}\r\n");
        if (contentType is not null)
        {
            head.Append("Content-Type: ").Append(contentType).Append("\r\n");
        }

        if (authorization is not null)
        {
            head.Append("Authorization: ").Append(authorization).Append("\r\n");
        }

        head.Append("Content-Length: ").Append(content.Length.ToString(CultureInfo.InvariantCulture)).Append("\r\n\r\n");
        return [.. Encoding.ASCII.GetBytes(head.ToString()), .. content];
    }

    /// <summary>Sends one publish request on <paramref name="client"/> and reads its response.</summary>
    public static async Task<HttpResponse> SendAsync(RawClient client, string body, TimeSpan timeout, string? authorization = null, string? contentType = FormContentType,
        string host = "test")
    {
        await client.SendAsync(Request(body, authorization, contentType, host));
        return await client.ReadResponseAsync(timeout: timeout);
    }
}
