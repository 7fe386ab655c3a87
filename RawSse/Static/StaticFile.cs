using Microsoft.Win32.SafeHandles;

namespace RawSse.Static;

/// <summary>
/// A file found under the root, with the validators and type the response needs. A small file carries its bytes and
/// is shared; a large one carries the descriptor it was opened and checked with, which its one request reads and disposes.
/// </summary>
internal sealed class StaticFile(FileIdentity identity, string contentType, byte[]? content, SafeFileHandle? handle)
{
    /// <summary>Inode, size and nanosecond mtime: a file rewritten in the same second with the same size still differs.</summary>
    public FileIdentity Identity { get; } = identity;

    public long Length => Identity.Length;

    /// <summary>Truncated to whole seconds, as HTTP dates are.</summary>
    public DateTimeOffset LastModified => Identity.LastModified;

    /// <summary>Strong validator from size and nanosecond modification time.</summary>
    public string ETag { get; } = ETagFor(identity);

    /// <summary>The bytes of a small file, kept in memory; null for a large file, which is streamed from <see cref="Handle"/>.</summary>
    public byte[]? Content { get; } = content;

    /// <summary>A large file's open descriptor, the request's to read and dispose; null for a cached file.</summary>
    public SafeFileHandle? Handle { get; } = handle;

    /// <summary>
    /// The header fields of a 200 answer, encoded once: ETag, Last-Modified, Cache-Control, Content-Type and
    /// Content-Length, in that order. A 304 sends the first <see cref="NotModifiedHeaderLength"/> bytes of it.
    /// </summary>
    public byte[] Headers { get; } = System.Text.Encoding.ASCII.GetBytes(
        Validators(identity) + $"Content-Type: {contentType}\r\nContent-Length: {identity.Length}\r\n");

    public int NotModifiedHeaderLength { get; } = Validators(identity).Length;

    private static string Validators(FileIdentity identity) =>
        $"ETag: {ETagFor(identity)}\r\nLast-Modified: {Http.HttpDate.ToHttpDate(identity.LastModified)}\r\nCache-Control: no-cache\r\n";

    private static string ETagFor(FileIdentity identity) => $"\"{identity.Length:x}-{identity.MtimeNs:x}\"";
}
