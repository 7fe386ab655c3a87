using System.Globalization;
using System.Net;
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

    /// <summary>
    /// Publishes <paramref name="prefix"/>0, <paramref name="prefix"/>1, ... to <paramref name="topic"/> one after the
    /// other on one keep-alive connection to 127.0.0.1:<paramref name="port"/>, <paramref name="pause"/> apart; each must
    /// be answered 200. Returns each event's id (the answer) and data, in the order published.
    /// </summary>
    public static async Task<List<(string Id, string Data)>> SeriesAsync(int port, string topic, string prefix, int count, TimeSpan timeout,
        TimeSpan pause = default, CancellationToken cancellationToken = default)
    {
        using var connection = await RawClient.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), timeout: timeout);
        var acked = new List<(string, string)>(count);
        for (int i = 0; i < count; i++)
        {
            if (i > 0 && pause > TimeSpan.Zero)
            {
                await Task.Delay(pause, cancellationToken);
            }

            string data = prefix + i.ToString(CultureInfo.InvariantCulture);
            var response = await SendAsync(connection, $"topic={topic}&data={data}", timeout, host: "localhost");
            Assert.That(response.Status, Is.EqualTo(200), $"publish {i} of {count} on {port}: {response.BodyText}");
            acked.Add((response.BodyText, data));
        }

        return acked;
    }
}
