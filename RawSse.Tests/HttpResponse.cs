using System.Text;

namespace RawSse.Tests;

/// <summary>An HTTP/1.1 response parsed by hand from the bytes on the wire.</summary>
internal sealed class HttpResponse
{
    public string StatusLine { get; private init; } = "";
    public int Status { get; private init; }
    public Dictionary<string, string> Headers { get; } = new(StringComparer.OrdinalIgnoreCase);
    public string RawHead { get; private init; } = "";
    public byte[] Body { get; set; } = [];
    public string BodyText => Encoding.UTF8.GetString(Body);

    public static HttpResponse ParseHead(string head)
    {
        var lines = head.Split("\r\n");
        var parts = lines[0].Split(' ', 3);
        var response = new HttpResponse { StatusLine = lines[0], Status = int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture), RawHead = head };
        foreach (var line in lines.Skip(1).Where(l => l.Length > 0))
        {
            int colon = line.IndexOf(':');
            response.Headers[line[..colon]] = line[(colon + 1)..].Trim();
        }

        return response;
    }

    public override string ToString() => RawHead;
}
