using System.Diagnostics;
using System.Reflection;
using System.Runtime.InteropServices;

namespace RawSse.Metrics;

/// <summary>
/// The process's own figures under Prometheus's standard names (process_cpu_seconds_total and the rest, as every
/// client library exports them), so dashboards and alerts written for any process work unchanged. Read on each scrape.
/// </summary>
internal static class ProcessFigures
{
    private const string FdDirectory = "/proc/self/fd";

    /// <summary>When the process started, in Unix seconds; it does not change, so it is read once.</summary>
    public static double StartTimeSeconds { get; } = ReadStartTime();

    /// <summary>The server's version (the assembly's informational version) for rawsse_build_info.</summary>
    public static string Version { get; } =
        typeof(ProcessFigures).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(ProcessFigures).Assembly.GetName().Version?.ToString() ?? "unknown";

    /// <summary>The runtime, e.g. ".NET 10.0.1", for rawsse_build_info.</summary>
    public static string Runtime { get; } = RuntimeInformation.FrameworkDescription;

    /// <summary>User and system CPU time.</summary>
    public static double CpuSeconds => Environment.CpuUsage.TotalTime.TotalSeconds;

    public static long ResidentBytes => Environment.WorkingSet;

    /// <summary>
    /// Entries of /proc/self/fd, or false where there is no procfs. The enumeration's own descriptor is among them,
    /// as it is in the Go and Python clients' figure.
    /// </summary>
    public static bool TryCountOpenFds(out long count)
    {
        count = 0;
        try
        {
            foreach (var _ in Directory.EnumerateFileSystemEntries(FdDirectory))
            {
                count++;
            }

            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false; // DirectoryNotFoundException is an IOException: not Linux
        }
    }

    private static double ReadStartTime()
    {
        using var process = Process.GetCurrentProcess();
        return (process.StartTime.ToUniversalTime() - DateTime.UnixEpoch).TotalSeconds;
    }
}
