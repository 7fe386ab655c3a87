namespace RawSse.Static;

/// <summary>A file found under the root, with the validators and type the response needs.</summary>
internal sealed class StaticFile(string fullPath, long length, DateTimeOffset lastModified, string contentType, byte[]? content)
{
    public string FullPath { get; } = fullPath;
    public long Length { get; } = length;

    /// <summary>Truncated to whole seconds, as HTTP dates are.</summary>
    public DateTimeOffset LastModified { get; } = lastModified;

    public string LastModifiedHttp { get; } = Http.HttpDate.ToHttpDate(lastModified);

    /// <summary>Strong validator from size and modification time, the pair nginx uses too.</summary>
    public string ETag { get; } = $"\"{length:x}-{lastModified.ToUnixTimeSeconds():x}\"";

    public string ContentType { get; } = contentType;

    /// <summary>The bytes of a small file, kept in memory; null for a large file, which is streamed.</summary>
    public byte[]? Content { get; } = content;
}
