namespace RawSse.Static;

/// <summary>A file found under the root, with the validators and type the response needs.</summary>
internal sealed class StaticFile(string fullPath, long length, DateTimeOffset lastModified, string contentType, byte[]? content)
{
    public string FullPath { get; } = fullPath;
    public long Length { get; } = length;

    /// <summary>Truncated to whole seconds, as HTTP dates are.</summary>
    public DateTimeOffset LastModified { get; } = lastModified;

    /// <summary>Strong validator from size and modification time, the pair nginx uses too.</summary>
    public string ETag { get; } = ETagFor(length, lastModified);

    /// <summary>The bytes of a small file, kept in memory; null for a large file, which is streamed.</summary>
    public byte[]? Content { get; } = content;

    /// <summary>
    /// The header fields of a 200 answer, encoded once: ETag, Last-Modified, Cache-Control, Content-Type and
    /// Content-Length, in that order. A 304 sends the first <see cref="NotModifiedHeaderLength"/> bytes of it.
    /// </summary>
    public byte[] Headers { get; } = System.Text.Encoding.ASCII.GetBytes(
        Validators(lastModified, length) + $"Content-Type: {contentType}\r\nContent-Length: {length}\r\n");

    public int NotModifiedHeaderLength { get; } = Validators(lastModified, length).Length;

    private static string Validators(DateTimeOffset lastModified, long length) =>
        $"ETag: {ETagFor(length, lastModified)}\r\nLast-Modified: {Http.HttpDate.ToHttpDate(lastModified)}\r\nCache-Control: no-cache\r\n";

    private static string ETagFor(long length, DateTimeOffset lastModified) => $"\"{length:x}-{lastModified.ToUnixTimeSeconds():x}\"";
}
