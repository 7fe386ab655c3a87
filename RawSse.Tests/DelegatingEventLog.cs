using RawSse.Store;

namespace RawSse.Tests;

/// <summary>A test double's base: every <see cref="IEventLog"/> member passes to <c>inner</c>; a double overrides what it changes.</summary>
internal abstract class DelegatingEventLog(IEventLog inner) : IEventLog
{
    public string Epoch => inner.Epoch;

    public long Head => inner.Head;

    public void Attach(IEventLogSink sink) => inner.Attach(sink);

    public virtual ValueTask<long> AppendAsync(IReadOnlyList<NewEvent> events, CancellationToken cancellationToken = default) =>
        inner.AppendAsync(events, cancellationToken);

    public ValueTask<LogRead> ReadAfterAsync(long after, IReadOnlyCollection<string>? topics, int max, CancellationToken cancellationToken = default) =>
        inner.ReadAfterAsync(after, topics, max, cancellationToken);

    public ValueTask<IReadOnlyList<long>> FindIdAsync(string id, CancellationToken cancellationToken = default) => inner.FindIdAsync(id, cancellationToken);

    public ValueTask TrimAsync(CancellationToken cancellationToken = default) => inner.TrimAsync(cancellationToken);

    public ValueTask DisposeAsync() => inner.DisposeAsync();
}
