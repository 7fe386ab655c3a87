using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace RawSse.Static;

/// <summary>
/// Maps request paths to files under one root, safely: the path is percent-decoded once, canonicalised
/// segment by segment, and the resolved real path (symlinks followed) must stay inside the real root.
/// Dotfiles are never served. The file is then opened beneath the root (<see cref="FileSystem"/>), so a directory swapped
/// for a symlink after the check cannot lead out of it, and served only when it is a regular file. Small files are kept
/// in memory and revalidated by inode, size and nanosecond mtime.
/// A request path's answer is remembered for <see cref="RevalidateAfterMs"/> (nginx's open_file_cache does the
/// same), so a hot file costs no system call at all; a file changed or removed on disk is seen within that time.
/// </summary>
internal sealed partial class StaticFiles
{
    private const int MaxCachedFileBytes = 512 * 1024;
    private const long MaxCacheBytes = 64L * 1024 * 1024;

    /// <summary>How long a request path's answer is reused before the path is resolved on disk again.</summary>
    public const int RevalidateAfterMs = 1000;

    // Distinct request paths remembered at once. Spellings of one file are unbounded ("/./a", "//a", ...), so
    // the table is emptied when full rather than allowed to grow.
    private const int MaxRememberedPaths = 4096;

    private readonly string _root;
    private readonly SafeFileHandle? _rootHandle;
    private readonly ConcurrentDictionary<string, StaticFile> _cache = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Answer> _answers = new(StringComparer.Ordinal);
    private long _cachedBytes; // Interlocked

    public StaticFiles(string root)
    {
        var full = Path.GetFullPath(root);
        if (!Directory.Exists(full))
        {
            throw new DirectoryNotFoundException($"static root '{root}' does not exist");
        }

        _root = RealPath(full) ?? full;
        _rootHandle = FileSystem.OpenRoot(_root);
    }

    public string Root => _root;

    /// <summary>
    /// Finds the file for a percent-encoded request path.
    /// Returns 200 with <paramref name="file"/>, 301 with <paramref name="redirect"/> (a directory without its
    /// trailing slash), 400 for a path that cannot name a file (NUL, control characters), or 404.
    /// </summary>
    public int Lookup(string encodedPath, out StaticFile? file, out string? redirect)
    {
        long now = Environment.TickCount64;
        if (_answers.TryGetValue(encodedPath, out var answer) && now < answer.ValidUntil)
        {
            file = answer.File;
            redirect = answer.Redirect;
            return answer.Status;
        }

        int status = Resolve(encodedPath, out file, out redirect);
        // A streamed file's answer carries the descriptor its one request reads, so it is never reused: the path is
        // resolved and opened again for each request.
        if (status != 400 && (file is null || file.Content is not null))
        {
            if (_answers.Count >= MaxRememberedPaths)
            {
                _answers.Clear();
            }

            _answers[encodedPath] = new Answer(status, file, redirect, now + RevalidateAfterMs);
        }

        return status;
    }

    private sealed record Answer(int Status, StaticFile? File, string? Redirect, long ValidUntil);

    private int Resolve(string encodedPath, out StaticFile? file, out string? redirect)
    {
        file = null;
        redirect = null;

        string decoded = Uri.UnescapeDataString(encodedPath);
        foreach (char c in decoded)
        {
            if (char.IsControl(c))
            {
                return 400;
            }
        }

        if (!TryCanonicalise(decoded, out var relative))
        {
            return 404;
        }

        var candidate = relative.Length == 0 ? _root : Path.Join(_root, relative);
        var real = RealPath(candidate);
        if (real is null || !IsUnderRoot(real))
        {
            return 404;
        }

        if (Directory.Exists(real))
        {
            if (!encodedPath.EndsWith('/'))
            {
                // Built from the canonical path, never from the raw target: "//host/x" would redirect off-site.
                redirect = relative.Length == 0 ? "/" : "/" + string.Join('/', relative.Split('/').Select(Uri.EscapeDataString)) + "/";
                return 301;
            }

            real = RealPath(Path.Join(real, "index.html"));
            if (real is null || !IsUnderRoot(real))
            {
                return 404;
            }
        }

        file = Load(real);
        return file is null ? 404 : 200;
    }

    /// <summary>Splits on '/', drops "." and empty segments, resolves ".." (never above the root), refuses dotfiles and backslashes.</summary>
    private static bool TryCanonicalise(string decoded, out string relative)
    {
        relative = "";
        if (decoded.Contains('\\'))
        {
            return false;
        }

        var segments = new List<string>();
        foreach (var segment in decoded.Split('/'))
        {
            if (segment.Length == 0 || segment == ".")
            {
                continue;
            }

            if (segment == "..")
            {
                if (segments.Count == 0)
                {
                    return false;
                }

                segments.RemoveAt(segments.Count - 1);
                continue;
            }

            if (segment[0] == '.')
            {
                return false;
            }

            segments.Add(segment);
        }

        relative = string.Join('/', segments);
        return true;
    }

    private bool IsUnderRoot(string real) =>
        real.Length > _root.Length && real.StartsWith(_root, StringComparison.Ordinal) && real[_root.Length] == '/'
        || real == _root;

    private StaticFile? Load(string real)
    {
        if (Path.GetFileName(real).StartsWith('.'))
        {
            return null;
        }

        var relative = real.Length > _root.Length ? real[(_root.Length + 1)..] : "";
        var handle = FileSystem.OpenRegularFile(_rootHandle, relative, real, out var identity);
        if (handle is null)
        {
            return null;
        }

        if (_cache.TryGetValue(real, out var cached) && cached.Identity == identity)
        {
            handle.Dispose();
            return cached;
        }

        if (identity.Length > MaxCachedFileBytes || Interlocked.Read(ref _cachedBytes) + identity.Length > MaxCacheBytes)
        {
            return new StaticFile(identity, MimeTypes.For(real), content: null, handle); // streamed from this descriptor
        }

        byte[] content;
        using (handle)
        {
            content = ReadAll(handle, identity.Length);
        }

        if (content.Length != identity.Length)
        {
            // Changed while being read: serve what was read, uncached; the next request caches the settled file.
            return new StaticFile(identity with { Length = content.Length }, MimeTypes.For(real), content, handle: null);
        }

        var file = new StaticFile(identity, MimeTypes.For(real), content, handle: null);
        _cache.AddOrUpdate(real,
            _ => { Interlocked.Add(ref _cachedBytes, file.Length); return file; },
            (_, old) => { Interlocked.Add(ref _cachedBytes, file.Length - old.Length); return file; });
        return file;
    }

    private static byte[] ReadAll(SafeFileHandle handle, long length)
    {
        var content = new byte[length];
        int total = 0;
        while (total < content.Length)
        {
            int read = RandomAccess.Read(handle, content.AsSpan(total), total);
            if (read == 0)
            {
                return content[..total];
            }

            total += read;
        }

        return content;
    }

    /// <summary>The canonical absolute path with every symlink resolved, or null when it does not exist.</summary>
    private static string? RealPath(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            var info = new FileInfo(path);
            var target = info.ResolveLinkTarget(returnFinalTarget: true);
            var resolved = target?.FullName ?? Path.GetFullPath(path);
            return File.Exists(resolved) || Directory.Exists(resolved) ? resolved : null;
        }

        nint result = realpath(path, 0);
        if (result == 0)
        {
            return null;
        }

        try
        {
            return Marshal.PtrToStringUTF8(result);
        }
        finally
        {
            free(result);
        }
    }

    [LibraryImport("libc", EntryPoint = "realpath", StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint realpath(string path, nint resolved);

    [LibraryImport("libc", EntryPoint = "free")]
    private static partial void free(nint ptr);
}
