using RawSse.Store;

namespace RawSse.Tests;

/// <summary>
/// Makes the logs a test uses, of one engine ("memory" or "sqlite": a fresh file in a fresh folder each), and
/// closes and deletes them all at the end.
/// </summary>
internal sealed class EventLogStores(string engine) : IAsyncDisposable
{
    private readonly List<IEventLog> _logs = [];
    private string? _folder;

    public string Folder => _folder ??= Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "rawsse-log-" + Guid.NewGuid().ToString("N"))).FullName;

    public IEventLog Create(LogRetention? retention = null) => Track<IEventLog>(engine switch
    {
        "memory" => new MemoryEventLog(retention ?? LogRetention.Default),
        "sqlite" => SqliteEventLog.Open(NewFile(), retention ?? LogRetention.Default),
        _ => throw new ArgumentException($"no such engine: {engine}"),
    });

    public string NewFile() => Path.Combine(Folder, Guid.NewGuid().ToString("N") + ".db");

    public T Track<T>(T log)
        where T : IEventLog
    {
        _logs.Add(log);
        return log;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var log in _logs)
        {
            await log.DisposeAsync();
        }

        if (_folder is not null && Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }
}
