using System.Text.Json.Serialization;

namespace LoadGen;

/// <summary>
/// What one wrk run measured: wrk's own figures, and the CPU the server, the load (this process and wrk, its
/// child) and the rest of the machine used meanwhile. The base of every report of a mode that runs wrk
/// (<see cref="StaticReport"/>, <see cref="IngestReport"/>), so their JSON lines share these fields;
/// <see cref="WrkRunner"/> fills them in.
/// </summary>
internal abstract class WrkReport
{
    public string Command { get; set; } = "";
    public int WrkExitCode { get; set; }
    public double WallSeconds { get; set; }
    public long Requests { get; set; }
    public double RequestsPerSecond { get; set; }
    public double LatencyP50Ms { get; set; }
    public double LatencyP90Ms { get; set; }
    public double LatencyP99Ms { get; set; }
    public long Non2xx { get; set; }
    public long SocketErrors { get; set; }
    public double ServerCpuSeconds { get; set; }
    public double ServerCpuPercent { get; set; }
    public double RequestsPerServerCpuSecond { get; set; }
    public double ServerRssMb { get; set; }
    public double LoadCpuPercent { get; set; }
    public double OtherCpuPercent { get; set; }

    /// <summary>wrk ran to its end and every request it sent was answered with a 2xx or 3xx.</summary>
    [JsonIgnore]
    public bool WrkSucceeded => WrkExitCode == 0 && Requests > 0 && Non2xx == 0 && SocketErrors == 0;
}
