namespace RawSse.Static;

/// <summary>What <c>fstat</c> says of an open file: enough to tell a changed file from the one cached.</summary>
internal readonly record struct FileIdentity(long Inode, int Mode, long Length, long MtimeNs)
{
    public bool IsRegularFile => (Mode & 0xF000) == 0x8000; // S_IFMT, S_IFREG

    public DateTimeOffset LastModified => DateTimeOffset.FromUnixTimeSeconds(Math.DivRem(MtimeNs, 1_000_000_000).Quotient);
}
