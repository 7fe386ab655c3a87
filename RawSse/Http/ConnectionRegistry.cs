using System.Collections.Concurrent;

namespace RawSse.Http;

/// <summary>The open connections, by id: the server's sweep and its stop walk it; a connection leaves it when it closes.</summary>
internal sealed class ConnectionRegistry
{
    private readonly ConcurrentDictionary<long, HttpConnection> _connections = new();

    public int Count => _connections.Count;

    public ICollection<HttpConnection> All => _connections.Values;

    public void Add(HttpConnection connection) => _connections[connection.Id] = connection;

    public void Remove(HttpConnection connection) => _connections.TryRemove(connection.Id, out _);
}
