using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace RawSse.Static;

/// <summary>
/// The two system calls static files need that .NET does not offer: open a path beneath the root directory without
/// ever leaving it, whatever symlinks or renames happen meanwhile (Linux <c>openat2</c> with <c>RESOLVE_BENEATH</c>), and
/// <c>fstat</c> on what was opened (type, inode, size, nanosecond mtime). Opening is non-blocking, so a FIFO or device
/// in the root cannot hold a thread. Elsewhere (not Linux x64, or a kernel before 5.6) the path is opened by .NET,
/// after the caller's realpath check.
/// </summary>
internal static partial class FileSystem
{
    private const int OpenReadOnly = 0, OpenNonBlocking = 0x800, OpenDirectory = 0x10000, OpenCloseOnExec = 0x80000, OpenPath = 0x200000;
    private const ulong ResolveNoMagicLinks = 0x02, ResolveBeneath = 0x08;
    private const long SysOpenat2 = 437;
    private const int CurrentDirectory = -100; // AT_FDCWD
    private const int RegularFile = 0x8000;
    private const int StatBytes = 144;

    private static readonly bool s_native = OperatingSystem.IsLinux() && RuntimeInformation.ProcessArchitecture == Architecture.X64;
    private static bool s_openat2Missing;

    /// <summary>A directory handle for <see cref="OpenBeneath"/>, or null where it is not available.</summary>
    public static SafeFileHandle? OpenRoot(string root)
    {
        if (!s_native || s_openat2Missing)
        {
            return null;
        }

        var how = new OpenHow { Flags = OpenPath | OpenDirectory | OpenCloseOnExec };
        long fd = openat2(SysOpenat2, CurrentDirectory, root, ref how, (nuint)Marshal.SizeOf<OpenHow>());
        if (fd < 0)
        {
            s_openat2Missing = Marshal.GetLastPInvokeError() == 38; // ENOSYS
            return null;
        }

        return new SafeFileHandle((nint)fd, ownsHandle: true);
    }

    /// <summary>
    /// Opens <paramref name="relative"/> for reading beneath <paramref name="root"/> (null: <paramref name="fullPath"/> as
    /// .NET opens it) and returns it only when it is a regular file, with its identity; null for anything else.
    /// </summary>
    public static SafeFileHandle? OpenRegularFile(SafeFileHandle? root, string relative, string fullPath, out FileIdentity identity)
    {
        identity = default;
        if (root is null)
        {
            return OpenManaged(fullPath, out identity);
        }

        var how = new OpenHow { Flags = OpenReadOnly | OpenNonBlocking | OpenCloseOnExec, Resolve = ResolveBeneath | ResolveNoMagicLinks };
        long fd = openat2(SysOpenat2, (int)root.DangerousGetHandle(), relative.Length == 0 ? "." : relative, ref how, (nuint)Marshal.SizeOf<OpenHow>());
        if (fd < 0)
        {
            return null;
        }

        var handle = new SafeFileHandle((nint)fd, ownsHandle: true);
        if (!TryStat(handle, out identity) || !identity.IsRegularFile)
        {
            handle.Dispose();
            return null;
        }

        return handle;
    }

    private static unsafe bool TryStat(SafeFileHandle handle, out FileIdentity identity)
    {
        byte* buffer = stackalloc byte[StatBytes];
        if (fstat((int)handle.DangerousGetHandle(), buffer) != 0)
        {
            identity = default;
            return false;
        }

        // struct stat on x86-64: st_ino at 8, st_mode at 24, st_size at 48, st_mtim at 88 (seconds, nanoseconds).
        var stat = new ReadOnlySpan<byte>(buffer, StatBytes);
        identity = new FileIdentity(
            Inode: BinaryPrimitives.ReadInt64LittleEndian(stat[8..]),
            Mode: BinaryPrimitives.ReadInt32LittleEndian(stat[24..]),
            Length: BinaryPrimitives.ReadInt64LittleEndian(stat[48..]),
            MtimeNs: (BinaryPrimitives.ReadInt64LittleEndian(stat[88..]) * 1_000_000_000) + BinaryPrimitives.ReadInt64LittleEndian(stat[96..]));
        return true;
    }

    private static SafeFileHandle? OpenManaged(string fullPath, out FileIdentity identity)
    {
        identity = default;
        var info = new FileInfo(fullPath);
        if (!info.Exists || info.Attributes.HasFlag(FileAttributes.Device))
        {
            return null;
        }

        try
        {
            var handle = File.OpenHandle(fullPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            identity = new FileIdentity(0, RegularFile, info.Length, (info.LastWriteTimeUtc.Ticks - DateTime.UnixEpoch.Ticks) * 100);
            return handle;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct OpenHow
    {
        public ulong Flags;
        public ulong Mode;
        public ulong Resolve;
    }

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial long openat2(long number, int directory, string path, ref OpenHow how, nuint size);

    [LibraryImport("libc", EntryPoint = "fstat", SetLastError = true)]
    private static unsafe partial int fstat(int fd, byte* buffer);
}
