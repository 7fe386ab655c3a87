using Microsoft.Extensions.Logging;
using RawSse.Metrics;
using RawSse.Transport;

namespace RawSse.Http;

/// <summary>
/// What a connection uses, and nothing more: its limits and timeouts, the route table, the registry it leaves when it
/// closes, the metrics, and the logs. Made once per server and shared by every connection.
/// </summary>
internal sealed record ConnectionServices(
    RequestLimits RequestLimits,
    Router Router,
    ConnectionRegistry Connections,
    ServerMetrics Metrics,
    ILogger Log,
    RateLimitedLog RejectionLog)
{
    /// <summary>Counts every rejection, and logs it at a bounded rate, so a flood cannot fill the disk.</summary>
    public void Rejected(SocketConnection connection, int status, string reason)
    {
        Metrics.Rejected(status);
        RejectionLog.Write(LogLevel.Information, "connection {Id} ({Remote}) rejected with {Status}: {Reason}",
            connection.Id, connection.Remote, status, reason);
    }
}
