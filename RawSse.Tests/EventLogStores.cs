using RawSse.Store;

namespace RawSse.Tests;

/// <summary>
/// Makes the logs a test uses, of one engine ("memory"; "sqlite": a fresh file in a fresh folder each; "nats": a fresh
/// stream on the run's shared nats-server each), and closes and deletes them all at the end.
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
        "nats" => OpenNats(NatsServer.NewStreamName(), retention),
        _ => throw new ArgumentException($"no such engine: {engine}"),
    });

    /// <summary>A log on the JetStream stream <paramref name="stream"/> of the shared server (a second one on the same stream is another node).</summary>
    public NatsEventLog OpenNats(string stream, LogRetention? retention = null)
    {
        var server = NatsServer.SharedAsync().GetAwaiter().GetResult();
        NatsStoreAddress.TryParse(server.StoreSpec(stream), out var address);
        return Track(NatsEventLog.OpenAsync(address, retention ?? LogRetention.Default).GetAwaiter().GetResult());
    }

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
