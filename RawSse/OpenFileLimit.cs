using System.Globalization;

namespace RawSse;

/// <summary>The process's soft limit on open files (RLIMIT_NOFILE), read from /proc/self/limits on Linux.</summary>
internal static class OpenFileLimit
{
    public static bool TryRead(out long limit)
    {
        limit = 0;
        try
        {
            foreach (var line in File.ReadLines("/proc/self/limits"))
            {
                // "Max open files            20000                20000                files"
                if (line.StartsWith("Max open files", StringComparison.Ordinal))
                {
                    var fields = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    return fields.Length > 0 && long.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out limit);
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return false;
    }
}
