// TEMPORARY stub until the sqlite-store branch merges.
using Microsoft.Extensions.Logging;
namespace RawSse.Store;
public sealed class SqliteEventLog
{
    public static IEventLog Open(string path, LogRetention retention, ILogger? log = null) => throw new EventLogUnavailableException($"not yet: {path}");
}
