namespace LoadGen;

internal sealed class StartupRun
{
    public double FirstByteMs { get; set; }
    public long IdleRssKb { get; set; }
    public double CpuSeconds { get; set; }
    public int ExitCode { get; set; }              // after SIGTERM: 0 is a clean stop, 143 death by the signal
}
