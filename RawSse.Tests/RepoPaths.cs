using System.Runtime.CompilerServices;

namespace RawSse.Tests;

/// <summary>
/// Finds the repository (the folder holding RawSse.sln), so tests can serve the real <c>public/</c> folder and run
/// the real <c>deploy/</c> nginx samples. It walks up from the test binaries first; when they were built elsewhere
/// (<c>--artifacts-path /tmp/...</c>), it walks up from this source file's compile-time path instead.
/// </summary>
internal static class RepoPaths
{
    private const string SolutionFile = "RawSse.sln";

    private static readonly Lazy<string> s_root = new(() => Find());

    public static string Root => s_root.Value;

    public static string Public => Path.Combine(Root, "public");

    public static string NginxConf => Path.Combine(Root, "deploy", "nginx.conf");

    public static string NginxClusterConf => Path.Combine(Root, "deploy", "nginx-cluster.conf");

    private static string Find([CallerFilePath] string sourceFile = "")
    {
        string[] starts = [AppContext.BaseDirectory, Path.GetDirectoryName(sourceFile) ?? ""];
        foreach (var start in starts)
        {
            for (var dir = string.IsNullOrEmpty(start) ? null : new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, SolutionFile)))
                {
                    return dir.FullName;
                }
            }
        }

        throw new InvalidOperationException(
            $"no folder containing {SolutionFile} above '{AppContext.BaseDirectory}' or '{Path.GetDirectoryName(sourceFile)}'");
    }
}
