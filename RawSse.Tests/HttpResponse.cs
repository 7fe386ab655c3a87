using System.Text;

namespace RawSse.Tests;

/// <summary>An HTTP/1.1 response as it arrived on the wire: the head read by <see cref="HttpResponseScanner"/>, and the body.</summary>
internal sealed class HttpResponse
{
    public string StatusLine { get; private init; } = "";
    public int Status { get; private init; }
    public Dictionary<string, string> Headers { get; } = new(StringComparer.OrdinalIgnoreCase);
    public string RawHead { get; private init; } = "";
    public long? ContentLength { get; private init; }
    public byte[] Body { get; set; } = [];
    public string BodyText => Encoding.UTF8.GetString(Body);

    /// <summary>Parses a complete head (its blank line included); a malformed one throws, showing the bytes.</summary>
    public static HttpResponse Parse(ReadOnlySpan<byte> head)
    {
        var scan = HttpResponseScanner.TryScanHead(head, head.Length, out var scanned, out string error);
        if (scan != HeadScan.Head || scanned!.Length != head.Length)
        {
            throw new FormatException($"expected one complete HTTP/1.1 response head; got {(scan == HeadScan.Head ? "bytes after it" : scan == HeadScan.NeedMore ? "no blank line" : error)}: {Describe.Bytes(head)}");
        }

        var response = new HttpResponse
        {
            StatusLine = scanned.StatusLine,
            Status = scanned.Status,
            RawHead = Encoding.Latin1.GetString(head),
            ContentLength = scanned.ContentLength,
        };
        foreach (var (name, value) in scanned.Fields)
        {
            response.Headers[name] = value;
        }

        return response;
    }

    public override string ToString() => RawHead;
}
