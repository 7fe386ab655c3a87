using System.Runtime.InteropServices;

namespace RawSse.Tests;

/// <summary>SIGTERM, what systemd and docker send to stop a service; <c>Process.Kill</c> only sends SIGKILL.</summary>
internal static class Signals
{
    private const int SIGTERM = 15;

    /// <summary>True when the signal was sent.</summary>
    public static bool Terminate(int pid) => kill(pid, SIGTERM) == 0;

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);
}
