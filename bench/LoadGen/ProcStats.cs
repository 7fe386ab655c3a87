using System.Globalization;

namespace LoadGen;

/// <summary>CPU time and resident memory of a process, from /proc/&lt;pid&gt;/stat and /proc/&lt;pid&gt;/status.</summary>
internal readonly record struct ProcStats(double CpuSeconds, long RssKb, int Threads, double ChildrenCpuSeconds)
{
    // USER_HZ: the unit of utime/stime in /proc/<pid>/stat; 100 on every Linux ABI in use.
    private const double ClockTicksPerSecond = 100.0;

    public static ProcStats Self() => Read("self");

    public static ProcStats? TryRead(int pid)
    {
        if (pid <= 0)
        {
            return null;
        }

        try
        {
            return Read(pid.ToString(CultureInfo.InvariantCulture));
        }
        catch (IOException)
        {
            return null; // gone
        }
    }

    private static ProcStats Read(string pid)
    {
        string stat = File.ReadAllText($"/proc/{pid}/stat");
        // The command name is in parentheses and may hold spaces: fields are counted after the last ')'.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        long utime = long.Parse(fields[11], CultureInfo.InvariantCulture);
        long stime = long.Parse(fields[12], CultureInfo.InvariantCulture);
        // cutime + cstime: children that have been waited for (wrk, in static mode).
        long children = long.Parse(fields[13], CultureInfo.InvariantCulture) + long.Parse(fields[14], CultureInfo.InvariantCulture);
        long rss = 0;
        int threads = 0;
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                rss = long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture);
            }
            else if (line.StartsWith("Threads:", StringComparison.Ordinal))
            {
                threads = int.Parse(line.AsSpan(8).Trim(), CultureInfo.InvariantCulture);
            }
        }

        return new ProcStats((utime + stime) / ClockTicksPerSecond, rss, threads, children / ClockTicksPerSecond);
    }
}
