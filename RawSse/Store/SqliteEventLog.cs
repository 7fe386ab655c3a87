using System.Diagnostics;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace RawSse.Store;

/// <summary>
/// The event log in one SQLite file (<see cref="SqliteSchema"/> has the tables), kept across restarts with its epoch.
/// <para>
/// <b>Group commit.</b> Appends queue (at most <see cref="SqliteEventLogOptions.MaxPendingAppends"/>; past that an
/// append fails at once) for one writer thread, which takes every append waiting, writes them all in one transaction
/// with prepared commands, commits, hands the events to the sink in log order, advances <see cref="Head"/>, and only
/// then completes the appends. Positions are given by the writer, so log order is commit order and no position is
/// ever visible before an earlier one. A transaction that fails (SQLITE_FULL, SQLITE_BUSY past the busy timeout, an
/// I/O error) is rolled back: its appends fail with <see cref="EventLogUnavailableException"/>, the head stays, and
/// the next batch simply tries again, so the log recovers by itself once the disk has room or the lock is gone.
/// </para>
/// <para>
/// <b>Durability.</b> The journal is a write-ahead log (<c>journal_mode=WAL</c>) with <c>synchronous=FULL</c>: "the WAL
/// file is synchronized after each transaction commit" (sqlite.org/pragma.html#pragma_synchronous), before the append
/// completes, so a completed append survives a process crash (kill -9) and a power loss or kernel panic alike, on a
/// disk that honours fsync. With <c>synchronous=NORMAL</c> the WAL is only synchronized before each checkpoint: "a
/// transaction committed in WAL mode with synchronous=NORMAL might roll back following a power loss or system crash",
/// though the database stays consistent, while "transactions are durable across application crashes regardless of the
/// synchronous setting" (the bytes are in the operating system's page cache), so a kill -9 loses nothing committed
/// either way. Group commit makes FULL cost one fsync per batch, not per event. Measured with 8 concurrent appenders
/// of 100-byte events on a 2-core VM (where an fsync takes about 0.2 ms), FULL took 21,000 to 28,000 events/s and
/// NORMAL 42,000 to 61,000 (the lower figures with every topic at its count limit, so retention runs all along).
/// Through the whole server (HTTP, the hub, 16 keep-alive publishers on one core) FULL took 17,000 to 18,000
/// events/s and NORMAL 20,000 to 24,000, so the default is NORMAL (a kill -9 loses nothing acknowledged; a power loss
/// may take back the last commits), and <c>--store-sync full</c> (<see cref="SqliteEventLogOptions.SynchronousFull"/>)
/// buys durability across power loss for that throughput.
/// </para>
/// <para>
/// <b>Reads</b> run on their own pooled connections and, under WAL, neither block the writer nor wait for it; a read
/// sees the events up to the head as it was when the read began. Reads run synchronously on the caller's thread.
/// </para>
/// <para>
/// <b>Retention</b> runs on the writer thread between batches, one transaction of at most
/// <see cref="SqliteEventLogOptions.TrimChunk"/> rows at a time (<see cref="SqliteRetention"/>): per topic for the
/// topics the last batches touched, and overall bytes, once they are due and either
/// <see cref="SqliteEventLogOptions.TrimEveryBatches"/> batches or <see cref="SqliteEventLogOptions.TrimDelay"/> went
/// by (so a log may be over its limits for that long); and everything, the age limit included (as in
/// <see cref="MemoryEventLog"/>, only then), when <see cref="TrimAsync"/> asks, which completes once nothing is left.
/// </para>
/// </summary>
public sealed class SqliteEventLog : IEventLog
{
    private const int MaxIdleReaders = 4;
    private const char TopicSeparator = '\n';

    private static readonly LogRead s_nothingAfter = new([], Complete: true);
    private static readonly object s_true = 1L;  // boxed once, not per event
    private static readonly object s_false = 0L;

    private readonly string _path;
    private readonly SqliteEventLogOptions _options;
    private readonly ILogger _log;

    // The writer thread's own: its connection, commands, retention and scratch lists.
    private readonly SqliteConnection _writer;
    private readonly SqliteRetention _retention;
    private readonly SqliteCommand _begin;
    private readonly SqliteCommand _commit;
    private readonly SqliteCommand _insertEvent;
    private readonly SqliteCommand _insertTopic;
    private readonly SqliteCommand _addBytes;
    private readonly SqliteCommand _advanceHead;
    private readonly List<PendingAppend> _batch = [];
    private int _batchEvents;
    private readonly List<long> _sizes = [];
    private readonly List<TaskCompletionSource> _roundWaiters = []; // the TrimAsync calls the current full pass answers
    private bool _trimDue;                                          // retention has work (or a TrimAsync waits)
    private bool _trimBacklog;                                      // the last pass ran out of its chunk: the next goes at once
    private long _trimDueSince;                                     // Environment.TickCount64
    private int _batchesSinceTrim;
    private int _failedBatches;                                     // in a row: the first is logged, the recovery too

    private readonly Lock _queueLock = new();
    private readonly Queue<PendingAppend> _queue = new();           // guarded by _queueLock
    private readonly List<TaskCompletionSource> _trimWaiters = [];  // guarded by _queueLock
    private bool _stopping;                                         // guarded by _queueLock
    private readonly ManualResetEventSlim _wake = new(initialState: false); // never disposed: an append racing DisposeAsync may still Set it
    private readonly TaskCompletionSource _writerDone = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private readonly Lock _readersLock = new();
    private readonly Stack<SqliteReadConnection> _idleReaders = new(); // guarded by _readersLock
    private bool _readersClosed;                                       // guarded by _readersLock

    private IEventLogSink? _sink;
    private long _head; // written by the writer thread only, once the sink has every event up to it

    private SqliteEventLog(string path, LogRetention retention, SqliteEventLogOptions options, SqliteConnection writer,
        (string Epoch, long Head, long Bytes) state, ILogger log)
    {
        _path = path;
        _options = options;
        _log = log;
        _writer = writer;
        Epoch = state.Epoch;
        _head = state.Head;
        _retention = new SqliteRetention(writer, retention, state.Bytes, options.TrimChunk);
        _begin = SqliteSchema.Prepare(writer, "BEGIN IMMEDIATE");
        _commit = SqliteSchema.Prepare(writer, "COMMIT");
        _insertEvent = SqliteSchema.Prepare(writer,
            "INSERT INTO events(seq, id, type, data, retry, private, topics, time, size) VALUES ($seq, $id, $type, $data, $retry, $private, $topics, $time, $size)",
            "$seq", "$id", "$type", "$data", "$retry", "$private", "$topics", "$time", "$size");
        _insertTopic = SqliteSchema.Prepare(writer, "INSERT INTO event_topics(topic, seq, size) VALUES ($topic, $seq, $size)", "$topic", "$seq", "$size");
        _addBytes = SqliteSchema.Prepare(writer, "UPDATE meta SET value = value + $delta WHERE key = 'bytes'", "$delta");

        // Compare and set: a second process writing the same file would otherwise reuse positions.
        _advanceHead = SqliteSchema.Prepare(writer, "UPDATE meta SET value = $new WHERE key = 'head' AND value = $old", "$new", "$old");

        _idleReaders.Push(new SqliteReadConnection(path, options.BusyTimeout)); // a file readers cannot open fails here, not on the first read
        new Thread(RunWriter) { IsBackground = true, Name = "SqliteEventLog writer" }.Start();
    }

    public string Epoch { get; }

    public long Head => Volatile.Read(ref _head);

    /// <summary>
    /// Opens the log in the SQLite file at <paramref name="path"/>, creating it and its folder when missing; a new file
    /// gets a new epoch, an existing one keeps its epoch, events and head.
    /// </summary>
    /// <exception cref="EventLogUnavailableException">The folder or the file cannot be created, opened or written; the message names the path and the reason.</exception>
    /// <param name="synchronousFull">Every commit fsyncs the WAL (durable across power loss); the default, NORMAL, is durable across process crashes.</param>
    public static SqliteEventLog Open(string path, LogRetention retention, ILogger? log = null, bool synchronousFull = false) =>
        Open(path, retention, SqliteEventLogOptions.Default with { SynchronousFull = synchronousFull }, log);

    internal static SqliteEventLog Open(string path, LogRetention retention, SqliteEventLogOptions options, ILogger? log = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(retention);
        ArgumentNullException.ThrowIfNull(options);
        string full;
        try
        {
            full = Path.GetFullPath(path);
            if (Path.GetDirectoryName(full) is { Length: > 0 } folder)
            {
                Directory.CreateDirectory(folder);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new EventLogUnavailableException($"cannot create the folder of the event log '{path}': {ex.Message}", ex);
        }

        SqliteConnection? writer = null;
        try
        {
            writer = SqliteSchema.OpenWriter(full, options);
            var state = SqliteSchema.Initialize(writer, full);
            var opened = new SqliteEventLog(full, retention, options, writer, state, log ?? NullLogger.Instance);
            opened._log.LogInformation("event log {Path}: epoch {Epoch}, head {Head}", full, state.Epoch, state.Head);
            return opened;
        }
        catch (SqliteException ex)
        {
            writer?.Dispose();
            throw new EventLogUnavailableException($"cannot open the event log '{path}': {ex.Message}", ex);
        }
        catch (EventLogUnavailableException)
        {
            writer?.Dispose();
            throw;
        }
    }

    public void Attach(IEventLogSink sink) => Volatile.Write(ref _sink, sink);

    public ValueTask<long> AppendAsync(IReadOnlyList<NewEvent> events, CancellationToken cancellationToken = default) =>
        Append(events, inline: false, cancellationToken);

    /// <summary>As <see cref="AppendAsync"/>, completed on the writer thread (see <see cref="IEventLog.AppendInlineAsync"/>).</summary>
    public ValueTask<long> AppendInlineAsync(IReadOnlyList<NewEvent> events) => Append(events, inline: true, CancellationToken.None);

    private ValueTask<long> Append(IReadOnlyList<NewEvent> events, bool inline, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(events);
        ValidateTopics(events);
        cancellationToken.ThrowIfCancellationRequested(); // once queued, an append is not abandoned: it commits or fails with its batch
        if (events.Count == 0)
        {
            return ValueTask.FromResult(Head + 1);
        }

        var pending = new PendingAppend(events, inline);
        lock (_queueLock)
        {
            if (_stopping)
            {
                return ValueTask.FromException<long>(Closed());
            }

            if (_queue.Count >= _options.MaxPendingAppends)
            {
                return ValueTask.FromException<long>(new EventLogUnavailableException(
                    $"the event log '{_path}' has {_queue.Count} appends waiting for the disk; try again later"));
            }

            _queue.Enqueue(pending);
        }

        _wake.Set();
        return new ValueTask<long>(pending.Task);
    }

    public ValueTask<LogRead> ReadAfterAsync(long after, IReadOnlyCollection<string>? topics, int max, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(max);
        cancellationToken.ThrowIfCancellationRequested();
        long head = Head;
        if (after >= head)
        {
            return ValueTask.FromResult(s_nothingAfter); // floors never pass the head: nothing after it was ever trimmed
        }

        try
        {
            return ValueTask.FromResult(WithReader(reader => reader.ReadAfter(after, head, topics, max)));
        }
        catch (EventLogUnavailableException ex)
        {
            return ValueTask.FromException<LogRead>(ex);
        }
    }

    public ValueTask<IReadOnlyList<long>> FindIdAsync(string id, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(id);
        cancellationToken.ThrowIfCancellationRequested();
        long head = Head;
        try
        {
            return ValueTask.FromResult(WithReader(reader => reader.FindId(id, head)));
        }
        catch (EventLogUnavailableException ex)
        {
            return ValueTask.FromException<IReadOnlyList<long>>(ex);
        }
    }

    public ValueTask TrimAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_queueLock)
        {
            if (_stopping)
            {
                return ValueTask.FromException(Closed());
            }

            _trimWaiters.Add(done);
        }

        _wake.Set();
        return new ValueTask(done.Task.WaitAsync(cancellationToken));
    }

    /// <summary>Lets the appends already queued commit (or fail), stops the writer, and closes the file.</summary>
    public async ValueTask DisposeAsync()
    {
        lock (_queueLock)
        {
            _stopping = true;
        }

        _wake.Set();

        // The writer ends after the batch in flight, which a busy lock holds for at most the busy timeout.
        var limit = _options.BusyTimeout * 4 + TimeSpan.FromSeconds(30);
        try
        {
            await _writerDone.Task.WaitAsync(limit).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            _log.LogError("the event log writer of {Path} did not stop within {Seconds} s", _path, limit.TotalSeconds);
        }

        lock (_readersLock)
        {
            _readersClosed = true;
            while (_idleReaders.TryPop(out var reader))
            {
                reader.Dispose();
            }
        }
    }

    private static void ValidateTopics(IReadOnlyList<NewEvent> events)
    {
        for (int i = 0; i < events.Count; i++)
        {
            var topics = events[i].Topics;
            for (int t = 0; t < topics.Count; t++)
            {
                // The topics column joins them with LF; an empty name would read back as no topic.
                if (topics[t].Length == 0 || topics[t].Contains(TopicSeparator))
                {
                    throw new ArgumentException("a topic is not empty and has no LF", nameof(events));
                }
            }
        }
    }

    private T WithReader<T>(Func<SqliteReadConnection, T> read)
    {
        SqliteReadConnection? reader;
        lock (_readersLock)
        {
            if (_readersClosed)
            {
                throw Closed();
            }

            _idleReaders.TryPop(out reader);
        }

        try
        {
            reader ??= new SqliteReadConnection(_path, _options.BusyTimeout);
            var result = read(reader);
            lock (_readersLock)
            {
                if (!_readersClosed && _idleReaders.Count < MaxIdleReaders)
                {
                    _idleReaders.Push(reader);
                    reader = null;
                }
            }

            reader?.Dispose();
            return result;
        }
        catch (SqliteException ex)
        {
            reader?.Dispose(); // a connection that failed is not trusted again
            throw new EventLogUnavailableException($"the event log '{_path}' cannot be read: {ex.Message}", ex);
        }
        catch
        {
            reader?.Dispose();
            throw;
        }
    }

    private EventLogUnavailableException Closed() => new($"the event log '{_path}' is closed");

    private void RunWriter()
    {
        try
        {
            while (true)
            {
                bool stop;
                lock (_queueLock)
                {
                    TakeBatch();
                    if (_roundWaiters.Count == 0 && _trimWaiters.Count > 0)
                    {
                        _roundWaiters.AddRange(_trimWaiters);
                        _trimWaiters.Clear();
                        _trimDue = true;
                    }

                    stop = _stopping && _batch.Count == 0;
                    if (_batch.Count == 0)
                    {
                        _wake.Reset(); // under the lock: an append queued after this sets it again
                    }
                }

                if (stop)
                {
                    if (_trimDue)
                    {
                        Trim(); // one last pass, so what is due is not left for a later run to find
                    }

                    break;
                }

                bool wrote = _batch.Count > 0;
                if (wrote)
                {
                    WriteBatch();
                }

                int waitMs = Timeout.Infinite;
                if (_trimDue && TrimIsDue(out waitMs))
                {
                    Trim();
                }
                else if (!wrote)
                {
                    _wake.Wait(waitMs);
                }
            }
        }
        catch (Exception ex)
        {
            // Only a bug gets here (batches and passes catch their own failures); what is queued fails as closed.
            _log.LogCritical(ex, "the event log writer of {Path} stopped", _path);
        }
        finally
        {
            lock (_queueLock)
            {
                _stopping = true;
                _roundWaiters.AddRange(_trimWaiters);
                _trimWaiters.Clear();
                _batch.AddRange(_queue);
                _queue.Clear();
            }

            foreach (var waiter in _roundWaiters)
            {
                waiter.TrySetException(Closed());
            }

            foreach (var append in _batch)
            {
                append.TrySetException(Closed());
            }

            _retention.Dispose();
            _writer.Dispose();
            _writerDone.TrySetResult();
        }
    }

    // Every append waiting, up to the batch limit (but always at least one, however long).
    private void TakeBatch()
    {
        Debug.Assert(_queueLock.IsHeldByCurrentThread);
        _batchEvents = 0;
        while (_queue.TryPeek(out var next) && (_batch.Count == 0 || _batchEvents + next.Events.Count <= _options.MaxBatchEvents))
        {
            _batch.Add(_queue.Dequeue());
            _batchEvents += next.Events.Count;
        }
    }

    private void WriteBatch()
    {
        long head = _head;
        long seq = head;
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        long bytes = 0;
        _sizes.Clear();
        try
        {
            _options.BeforeBatch?.Invoke(_writer);
            _begin.ExecuteNonQuery();
            _advanceHead.Parameters[0].Value = head + _batchEvents;
            _advanceHead.Parameters[1].Value = head;
            if (_advanceHead.ExecuteNonQuery() != 1)
            {
                // Another process appends to the file (one file has one writer), or a commit that reported an error took
                // effect after all; either way this log's positions are stale, and it must not hand out any more.
                throw new EventLogUnavailableException($"the event log '{_path}' has a head other than this log's {head}: another process appends to it, or a failed commit took effect; reopen it");
            }

            foreach (var append in _batch)
            {
                var events = append.Events;
                for (int i = 0; i < events.Count; i++)
                {
                    var e = events[i];
                    long size = LogRetention.SizeOf(e);
                    seq++;
                    Insert(e, seq, now, size);
                    _sizes.Add(size);
                    bytes += size;
                }
            }

            _addBytes.Parameters[0].Value = bytes;
            _addBytes.ExecuteNonQuery();
            Debug.Assert(seq == head + _batchEvents);
            _commit.ExecuteNonQuery();
        }
        catch (Exception ex)
        {
            FailBatch(ex);
            return;
        }

        if (_failedBatches > 0)
        {
            _log.LogInformation("event log {Path}: appends succeed again after {Count} failed batches", _path, _failedBatches);
            _failedBatches = 0;
        }

        var sink = Volatile.Read(ref _sink);
        var time = DateTimeOffset.FromUnixTimeMilliseconds(now);
        seq = head;
        int n = 0;
        foreach (var append in _batch)
        {
            append.First = seq + 1;
            var events = append.Events;
            for (int i = 0; i < events.Count; i++)
            {
                var e = events[i];
                seq++;
                _retention.Committed(e.Topics, _sizes[n++]);
                Apply(sink, new LoggedEvent(seq, e.Topics, e.Event, e.IsPrivate, time));
            }
        }

        Volatile.Write(ref _head, seq);
        foreach (var append in _batch)
        {
            append.TrySetResult(append.First);
        }

        // The appenders' continuations are queued now; the sink's sending goes behind them.
        try
        {
            sink?.Release();
        }
        catch (Exception ex)
        {
            _log.LogError(ex, "event log {Path}: the sink failed to release a batch", _path);
        }

        _batch.Clear();
        if (_trimDue)
        {
            _batchesSinceTrim++;
        }
        else if (_retention.Due)
        {
            _trimDue = true;
            _trimDueSince = Environment.TickCount64;
            _batchesSinceTrim = 1;
        }
    }

    // A pass that nobody asked for waits for a few batches or a short delay, so that under a steady stream of appends
    // one retention transaction (and its fsync) serves many batches instead of doubling the commits; a topic may be over
    // its limits meanwhile by what those batches added.
    private bool TrimIsDue(out int waitMs)
    {
        long waited = Environment.TickCount64 - _trimDueSince;
        long delay = (long)_options.TrimDelay.TotalMilliseconds;
        waitMs = (int)Math.Clamp(delay - waited, 0, int.MaxValue);
        return _roundWaiters.Count > 0 || _trimBacklog || _batchesSinceTrim >= _options.TrimEveryBatches || waited >= delay;
    }

    private void Insert(NewEvent e, long seq, long time, long size)
    {
        var p = _insertEvent.Parameters;
        p[0].Value = seq;
        p[1].Value = (object?)e.Event.Id ?? DBNull.Value;
        p[2].Value = (object?)e.Event.Type ?? DBNull.Value;
        p[3].Value = e.Event.Data;
        p[4].Value = e.Event.Retry is { } retry ? retry : DBNull.Value;
        p[5].Value = e.IsPrivate ? s_true : s_false;
        p[6].Value = e.Topics.Count == 1 ? e.Topics[0] : string.Join(TopicSeparator, e.Topics);
        p[7].Value = time;
        p[8].Value = size;
        _insertEvent.ExecuteNonQuery();

        var t = _insertTopic.Parameters;
        t[1].Value = seq;
        t[2].Value = size;
        for (int i = 0; i < e.Topics.Count; i++)
        {
            t[0].Value = e.Topics[i];
            _insertTopic.ExecuteNonQuery();
        }
    }

    private void FailBatch(Exception ex)
    {
        try
        {
            SqliteSchema.RollbackIfActive(_writer);
        }
        catch (SqliteException rollback)
        {
            // The next batch's BEGIN fails while the transaction stays open, and rolls back again.
            _log.LogWarning(rollback, "event log {Path}: the rollback failed", _path);
        }

        if (_failedBatches++ == 0)
        {
            if (ex is SqliteException or EventLogUnavailableException)
            {
                _log.LogError("event log {Path}: appends fail until this clears: {Reason}", _path, ex.Message);
            }
            else
            {
                _log.LogError(ex, "event log {Path}: an append batch failed unexpectedly", _path);
            }
        }

        string reason = ex is EventLogUnavailableException ? ex.Message : $"the event log '{_path}' could not commit: {ex.Message}";
        foreach (var append in _batch)
        {
            append.TrySetException(new EventLogUnavailableException(reason, ex));
        }

        _batch.Clear();
    }

    private void Apply(IEventLogSink? sink, LoggedEvent logged)
    {
        try
        {
            sink?.Apply(logged);
        }
        catch (Exception ex)
        {
            // The event is committed either way; the sink's fault must not stop the writer or fail the append.
            _log.LogError(ex, "event log {Path}: the sink failed on event {Sequence}", _path, logged.Sequence);
        }
    }

    private void Trim()
    {
        bool requested = _roundWaiters.Count > 0;
        _batchesSinceTrim = 0;
        _trimDueSince = Environment.TickCount64;
        try
        {
            _trimBacklog = _retention.RunPass(includeAge: requested);
            if (_trimBacklog)
            {
                return; // the loop comes back after the next batch
            }

            _trimDue = false;
            foreach (var waiter in _roundWaiters)
            {
                waiter.TrySetResult();
            }
        }
        catch (Exception ex)
        {
            _log.LogWarning("event log {Path}: a retention pass failed: {Reason}", _path, ex.Message);
            _trimDue = false; // until the next batch or TrimAsync asks again: no tight loop against a full disk
            _trimBacklog = false;
            foreach (var waiter in _roundWaiters)
            {
                waiter.TrySetException(new EventLogUnavailableException($"the event log '{_path}' could not trim: {ex.Message}", ex));
            }
        }

        _roundWaiters.Clear();
    }

    // An inline append's continuation runs on the writer thread, right after the commit: a keep-alive publisher's next
    // request is read and queued before the batch's sending starts, with no thread switch, which on a saturated core is
    // most of an append's cost. Any other append's continuation goes to the thread pool.
    private sealed class PendingAppend(IReadOnlyList<NewEvent> events, bool inline)
        : TaskCompletionSource<long>(inline ? TaskCreationOptions.None : TaskCreationOptions.RunContinuationsAsynchronously)
    {
        public IReadOnlyList<NewEvent> Events { get; } = events;

        public long First { get; set; }
    }
}
