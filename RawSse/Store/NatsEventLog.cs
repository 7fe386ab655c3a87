using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;

namespace RawSse.Store;

/// <summary>
/// The event log as one NATS JetStream stream that several RawSse nodes share (<c>--store nats://HOST:PORT[/STREAM]</c>).
/// <para>
/// <b>Positions.</b> The stream's sequence is the position, and its creation time (with its name) makes the epoch,
/// so every node names every event with the same id. A stream deleted and created again is another log: a node that
/// sees its stream's creation time change stops taking appends and stops being ready (restart it to take the new epoch).
/// </para>
/// <para>
/// <b>Appends</b> publish each event (<see cref="NatsEnvelope"/>, on <see cref="NatsSubjects"/>) with a
/// <c>Nats-Msg-Id</c>, so a retry after a lost acknowledgement is taken once (JetStream's duplicate window), and
/// complete after JetStream's acknowledgement, once this node has read the event back (read-your-writes, as with the
/// other stores); a node that lags behind the stream answers after at most 2 s more, since the event is durable
/// already, so its lag slows its publishers down without holding them for all of it. Without a connection an
/// append fails at once; one not acknowledged within <see cref="AppendTimeout"/> fails too. A batch's events get
/// increasing positions, contiguous unless another node appends at the same time, and a batch is not atomic: one that
/// fails part-way keeps the events acknowledged before the failure (the hub appends one event at a time).
/// </para>
/// <para>
/// <b>Visibility.</b> Every node follows the whole stream with one ordered consumer, from the position it opened at,
/// and hands each event to its sink in stream order: a node delivers only what it read back, so every node delivers
/// every event in the same order, whichever node took it. After a lost connection the consumer starts again after
/// the last position applied: no gap, no duplicate. <see cref="Head"/> is the newest position this node applied, and
/// a read goes no further (what lies beyond is on its way to the hub). Positions the follower finds gone before it
/// read them (JetStream trimmed them while this node lagged) are reported to the sink as lost
/// (<see cref="IEventLogSink.Lost"/>): the hub tells its live subscribers with a reset rather than skip them silently.
/// </para>
/// <para>
/// <b>Retention</b> is JetStream's: <see cref="LogRetention.PerTopicCount"/> is the stream's <c>MaxMsgsPerSubject</c>,
/// <see cref="LogRetention.TotalBytes"/> its <c>MaxBytes</c> (JetStream counts a message's subject, headers and
/// payload), <see cref="LogRetention.MaxAge"/> its <c>MaxAge</c> (at least 100 ms, JetStream's smallest); the server trims as it appends (and by age on its own
/// timer), and <see cref="TrimAsync"/> has nothing to do. There is no per-topic byte limit. A read knows a topic lost
/// nothing after a position when the topic's oldest kept event is no later, or the topic holds fewer events than its
/// limit; and the stream lost nothing overall when its first kept sequence is no later. The overall check cannot tell
/// which topic the stream's oldest events were in, so a read from before the stream's first kept sequence reports
/// itself incomplete even for a topic that lost nothing (a reset rather than a silent gap).
/// </para>
/// <para>
/// <b>Ids.</b> JetStream cannot search payloads: <see cref="FindIdAsync"/> looks publisher-given ids up among the
/// newest <see cref="MaxIndexedIds"/> (and <see cref="MaxIndexedIdChars"/>) this node applied since it opened the
/// log, and checks the stream still holds them: an id published before the node started is not found (the resume is a
/// reset), while the hub's own <c>&lt;epoch&gt;-&lt;sequence&gt;</c> ids resume on every node.
/// </para>
/// </summary>
public sealed class NatsEventLog : IEventLog, IEventLogStatus
{
    /// <summary>How long an append waits for JetStream's acknowledgement before it fails.</summary>
    public static readonly TimeSpan AppendTimeout = TimeSpan.FromSeconds(5);

    /// <summary>Publisher-given ids remembered for <see cref="FindIdAsync"/>: at most this many...</summary>
    public const int MaxIndexedIds = 65_536;

    /// <summary>...and at most this many characters of them (8 MiB of strings), the oldest forgotten first.</summary>
    public const long MaxIndexedIdChars = 4L << 20;

    private const int MaxConcurrentReads = 8;
    private const int StreamNotFound = 10059; // JetStream's err_code
    private const int StallPolls = 4;         // 2 s without progress
    private const int MaxWaiters = 65_536;    // appends and resumes waiting for the follower; an append that gave up keeps its entry until the follower passes it
    private const int ReadChunk = 1000;
    private const int ApplyBatch = 256;
    private const int MaxIdMatches = 2;
    private const int MultiScanFactor = 10;
    private const string EpochAlphabet = "0123456789abcdefghijklmnopqrstuvwxyz";
    private static readonly TimeSpan s_applyWait = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan s_pollInterval = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan s_openTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan s_minAge = TimeSpan.FromMilliseconds(100); // JetStream's smallest MaxAge
    private static readonly LogRead s_nothingAfter = new([], Complete: true);

    private readonly NatsConnection _nats;
    private readonly NatsJSContext _js;
    private readonly INatsJSStream _stream;
    private readonly NatsStoreAddress _address;
    private readonly NatsSubjects _subjects;
    private readonly LogRetention _retention;
    private readonly ILogger _log;
    private readonly RateLimitedLog _faults;
    private readonly DateTimeOffset _created;
    private readonly string _node = RandomNumberGenerator.GetHexString(12, lowercase: true);
    private readonly CancellationTokenSource _closing = new();
    private readonly SemaphoreSlim _reads = new(MaxConcurrentReads);
    private readonly Lock _lock = new();
    private readonly PriorityQueue<TaskCompletionSource, long> _waiters = new();     // guarded by _lock
    private readonly Dictionary<string, List<long>> _ids = new(StringComparer.Ordinal); // guarded by _lock: newest last
    private readonly Queue<(string Id, long Sequence)> _idOrder = new();             // guarded by _lock
    private readonly Task _follower;
    private readonly Task _watcher;

    private IEventLogSink? _sink;
    private long _applied;        // Volatile, written by the follower only: the newest position applied (handed to the sink, skipped or lost)
    private long _storeHead;      // Volatile: the newest position known to be in the stream
    private long _readyTarget = long.MaxValue; // Volatile: the stream's last position one poll ago; caught up once applied
    private long _lastPolled = long.MaxValue;  // watcher only
    private long _headAtLastPoll = -1;         // watcher only
    private int _stalledPolls;                 // watcher only
    private long _followerRestarts;
    private CancellationTokenSource? _followerAttempt; // Volatile: the follower's current consumer
    private long _msgIds;
    private long _indexedChars;   // guarded by _lock
    private long _reconnects;
    private volatile bool _replaced;
    private volatile bool _gone;

    private NatsEventLog(NatsConnection nats, NatsJSContext js, INatsJSStream stream, NatsStoreAddress address, LogRetention retention, ILogger log)
    {
        var info = stream.Info;
        _nats = nats;
        _js = js;
        _stream = stream;
        _address = address;
        _subjects = new NatsSubjects(address.Stream);
        _retention = retention;
        _log = log;
        _faults = new RateLimitedLog(log, perSecond: 1, windowMs: 10_000);
        _created = info.Created;
        Epoch = EpochOf(address.Stream, info.Created);
        _applied = (long)info.State.LastSeq;
        _storeHead = _applied;
        _readyTarget = _lastPolled = _applied; // opened at the stream's newest position: caught up
        _follower = Task.Run(() => FollowAsync(_closing.Token));
        _watcher = Task.Run(() => WatchAsync(_closing.Token));
    }

    /// <summary>
    /// Connects (trying for up to 10 s), creates the stream or brings its limits to <paramref name="retention"/>, and
    /// starts following it from its newest position.
    /// </summary>
    /// <exception cref="EventLogUnavailableException">No NATS server answered, JetStream is off, or it refused the stream.</exception>
    public static async Task<NatsEventLog> OpenAsync(NatsStoreAddress address, LogRetention retention, ILogger? log = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(address);
        ArgumentNullException.ThrowIfNull(retention);
        log ??= NullLogger.Instance;
        var nats = new NatsConnection(new NatsOpts
        {
            Url = address.Url,
            Name = "rawsse",
            MaxReconnectRetry = -1,
            ReconnectWaitMin = TimeSpan.FromMilliseconds(100),
            ReconnectWaitMax = TimeSpan.FromSeconds(1),
            ConnectTimeout = TimeSpan.FromSeconds(2),
            RequestTimeout = AppendTimeout,
            SubPendingChannelCapacity = 65_536,
            AuthOpts = new NatsAuthOpts { Username = address.User, Password = address.Password, Token = address.Token },
        });
        NatsEventLog? opened = null;
        nats.ConnectionOpened += (_, _) =>
        {
            opened?.OnReconnected(); // the first connection is made before the log exists
            return ValueTask.CompletedTask;
        };
        try
        {
            await ConnectAsync(nats, address, cancellationToken).ConfigureAwait(false);
            var js = new NatsJSContext(nats);
            var stream = await js.CreateOrUpdateStreamAsync(StreamConfigFor(address, retention), cancellationToken).ConfigureAwait(false);
            opened = new NatsEventLog(nats, js, stream, address, retention, log);
            log.LogInformation("Event log: JetStream stream {Stream} at {Url} (epoch {Epoch}), following from position {Head}", address.Stream, address.Url, opened.Epoch, opened.Head);
            return opened;
        }
        catch (Exception ex) when (ex is NatsException or TimeoutException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            await nats.DisposeAsync().ConfigureAwait(false);
            throw new EventLogUnavailableException($"NATS JetStream at {address.Url}: {ex.Message}", ex);
        }
    }

    public string Epoch { get; }

    /// <summary>The newest position this node applied (the stream may already hold newer ones: <see cref="Lag"/>).</summary>
    public long Head => Volatile.Read(ref _applied);

    public bool IsReady => _nats.ConnectionState == NatsConnectionState.Open && !_replaced && Head >= Volatile.Read(ref _readyTarget);

    public long Lag => Math.Max(0, Volatile.Read(ref _storeHead) - Head);

    public long Reconnects => Interlocked.Read(ref _reconnects);

    /// <summary>Times the follower's consumer was created again (after an error, or a stall the watcher cut).</summary>
    public long FollowerRestarts => Interlocked.Read(ref _followerRestarts);

    public LatencyHistogram AppendLatency { get; } = new();

    public void Attach(IEventLogSink sink) => Volatile.Write(ref _sink, sink);

    public async ValueTask<long> AppendAsync(IReadOnlyList<NewEvent> events, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(events);
        EnsureUsable();
        long first = 0, last = 0;
        foreach (var e in events)
        {
            last = await PublishAsync(e, cancellationToken).ConfigureAwait(false);
            first = first == 0 ? last : first;
        }

        if (last > 0)
        {
            // Read-your-writes: once this returns, this node's hub has the event, as with every other store. A node
            // that lags answers after at most s_applyWait (the event is durable already): it slows its publishers down.
            await AppliedAsync(last, s_applyWait).ConfigureAwait(false);
        }

        return first;
    }

    public async ValueTask<bool> CatchUpAsync(long position, CancellationToken cancellationToken = default)
    {
        if (position <= Head)
        {
            return true;
        }

        if (position > Volatile.Read(ref _storeHead))
        {
            try
            {
                var state = (await _js.GetStreamAsync(_address.Stream, cancellationToken: cancellationToken).ConfigureAwait(false)).Info.State;
                RaiseStoreHead((long)state.LastSeq);
            }
            catch (Exception ex) when (ex is NatsException or TimeoutException)
            {
                return false;
            }

            if (position > Volatile.Read(ref _storeHead))
            {
                return false; // a position the stream has not reached: not one of its events
            }
        }

        return await AppliedAsync(position, s_applyWait).ConfigureAwait(false);
    }

    public async ValueTask<LogRead> ReadAfterAsync(long after, IReadOnlyCollection<string>? topics, int max, CancellationToken cancellationToken = default)
    {
        EnsureUsable();
        await _reads.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // The read's snapshot is what this node applied, not what the stream holds: an event past it is still on
            // its way to the hub, which sends it live (and drops it from a resume's read).
            long through = Head;
            if (after >= through)
            {
                return s_nothingAfter;
            }

            if (topics is null)
            {
                return await ReadAllAsync(after, through, max, cancellationToken).ConfigureAwait(false);
            }

            var state = (await _js.GetStreamAsync(_address.Stream, cancellationToken: cancellationToken).ConfigureAwait(false)).Info.State;
            return await ReadTopicsAsync(after, through, (long)state.FirstSeq, topics, max, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is NatsException or TimeoutException)
        {
            throw new EventLogUnavailableException($"NATS JetStream read failed: {ex.Message}", ex);
        }
        finally
        {
            _reads.Release();
        }
    }

    public async ValueTask<IReadOnlyList<long>> FindIdAsync(string id, CancellationToken cancellationToken = default)
    {
        long[] candidates;
        lock (_lock)
        {
            candidates = _ids.TryGetValue(id, out var seen) ? [.. Enumerable.Reverse(seen)] : [];
        }

        var found = new List<long>(MaxIdMatches);
        foreach (long sequence in candidates)
        {
            if (found.Count == MaxIdMatches)
            {
                break;
            }

            if (await StillKeptAsync(sequence, cancellationToken).ConfigureAwait(false))
            {
                found.Add(sequence);
            }
        }

        return found;
    }

    /// <summary>JetStream applies the limits itself, as it appends and on its own age timer.</summary>
    public ValueTask TrimAsync(CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        if (_closing.IsCancellationRequested)
        {
            return;
        }

        _closing.Cancel();
        await Task.WhenAll(_follower, _watcher).ConfigureAwait(false);
        lock (_lock)
        {
            while (_waiters.TryDequeue(out var waiter, out _))
            {
                waiter.TrySetResult();
            }
        }

        await _nats.DisposeAsync().ConfigureAwait(false);
        _closing.Dispose();
    }

    internal static string EpochOf(string stream, DateTimeOffset created)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes($"{stream}\n{created.UtcTicks}"), hash);
        ulong value = 0;
        for (int i = 0; i < 5; i++)
        {
            value = (value << 8) | hash[i]; // 40 bits: fewer values than 36^8
        }

        Span<char> epoch = stackalloc char[8];
        for (int i = epoch.Length - 1; i >= 0; i--)
        {
            epoch[i] = EpochAlphabet[(int)(value % 36)];
            value /= 36;
        }

        return new string(epoch);
    }

    private static StreamConfig StreamConfigFor(NatsStoreAddress address, LogRetention retention)
    {
        var duplicates = TimeSpan.FromMinutes(2);
        var maxAge = retention.MaxAge is { } limit ? TimeSpan.FromTicks(Math.Max(limit.Ticks, s_minAge.Ticks)) : TimeSpan.Zero;
        if (maxAge > TimeSpan.Zero && maxAge < duplicates)
        {
            duplicates = maxAge; // JetStream requires the duplicate window within the age limit
        }

        return new StreamConfig(address.Stream, [new NatsSubjects(address.Stream).All])
        {
            Description = "RawSse event log",
            Storage = StreamConfigStorage.File,
            Retention = StreamConfigRetention.Limits,
            Discard = StreamConfigDiscard.Old,
            MaxMsgsPerSubject = retention.PerTopicCount,
            MaxBytes = retention.TotalBytes,
            MaxAge = maxAge,
            DuplicateWindow = duplicates,
            NumReplicas = 1,
        };
    }

    private static async Task ConnectAsync(NatsConnection nats, NatsStoreAddress address, CancellationToken cancellationToken)
    {
        long deadline = Environment.TickCount64 + (long)s_openTimeout.TotalMilliseconds;
        while (true)
        {
            try
            {
                await nats.ConnectAsync().ConfigureAwait(false);
                return;
            }
            catch (NatsException) when (Environment.TickCount64 < deadline)
            {
                await Task.Delay(250, cancellationToken).ConfigureAwait(false); // a node may start before its NATS server
            }
        }
    }

    private void OnReconnected()
    {
        Interlocked.Increment(ref _reconnects);
        Volatile.Write(ref _readyTarget, long.MaxValue); // not ready until a poll has seen how far the stream got
    }

    private void EnsureUsable()
    {
        if (_replaced)
        {
            throw new EventLogUnavailableException($"the JetStream stream {_address.Stream} was deleted and created again; restart this node");
        }

        if (_nats.ConnectionState != NatsConnectionState.Open)
        {
            throw new EventLogUnavailableException($"not connected to the NATS server at {_address.Url}");
        }

        if (_gone)
        {
            throw new EventLogUnavailableException($"the JetStream stream {_address.Stream} is gone");
        }
    }

    private async ValueTask<long> PublishAsync(NewEvent e, CancellationToken cancellationToken)
    {
        string subject = _subjects.Of(e.Topics);
        byte[] payload = NatsEnvelope.Encode(e);
        if (_nats.ServerInfo is { MaxPayload: > 0 } server && payload.Length > server.MaxPayload)
        {
            throw new EventTooLargeException($"the event takes {payload.Length} bytes in the store; the NATS server's max_payload is {server.MaxPayload}");
        }

        var options = new NatsJSPubOpts { MsgId = $"{_node}-{Interlocked.Increment(ref _msgIds)}" }; // the same id on every retry
        long start = Stopwatch.GetTimestamp();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _closing.Token);
        deadline.CancelAfter(AppendTimeout);
        while (true)
        {
            try
            {
                var ack = await _js.PublishAsync(subject, payload, opts: options, cancellationToken: deadline.Token).ConfigureAwait(false);
                if (ack.Error is { } error)
                {
                    throw new EventLogUnavailableException($"JetStream refused the event: {error.Description} ({error.ErrCode})");
                }

                AppendLatency.RecordSince(start);
                long sequence = (long)ack.Seq;
                RaiseStoreHead(sequence);
                return sequence;
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                throw new EventLogUnavailableException($"JetStream did not acknowledge an event within {AppendTimeout.TotalSeconds:0} s");
            }
            catch (NatsJSApiException ex)
            {
                throw new EventLogUnavailableException($"JetStream refused the event: {ex.Error.Description} ({ex.Error.ErrCode})", ex);
            }
            catch (NatsException ex) when (_nats.ConnectionState == NatsConnectionState.Open && !deadline.IsCancellationRequested)
            {
                // No responders (JetStream not ready yet) or a lost reply: the same Nats-Msg-Id again is taken once.
                _faults.Write(LogLevel.Warning, "JetStream publish retried: {Error}", ex.Message);
                await Task.Delay(100, deadline.Token).ConfigureAwait(false);
            }
            catch (NatsException ex)
            {
                throw new EventLogUnavailableException($"JetStream publish failed: {ex.Message}", ex);
            }
        }
    }

    // Completes once this node applied `position` (true), or after `wait` (false).
    private async ValueTask<bool> AppliedAsync(long position, TimeSpan wait)
    {
        TaskCompletionSource waiter;
        lock (_lock)
        {
            if (Head >= position)
            {
                return true;
            }

            if (_waiters.Count >= MaxWaiters)
            {
                return false; // a node this far behind answers at once rather than hold an entry per append
            }

            waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Enqueue(waiter, position);
        }

        try
        {
            await waiter.Task.WaitAsync(wait).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }

        return Head >= position;
    }

    // The one ordered consumer that follows the whole stream. On any failure (a lost connection, a consumer the
    // server forgot) it starts again after the last position applied.
    private async Task FollowAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            // The watcher cancels one consumer that makes no progress while the stream holds more (see WatchAsync).
            using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            Volatile.Write(ref _followerAttempt, attempt);
            try
            {
                await SkipRemovedTailAsync(attempt.Token).ConfigureAwait(false);
                var consumer = await _js.CreateOrderedConsumerAsync(_address.Stream, Ordered(Head + 1), attempt.Token).ConfigureAwait(false);
                var messages = consumer.ConsumeAsync<byte[]>(opts: new NatsJSConsumeOpts { MaxMsgs = ReadChunk }, cancellationToken: attempt.Token);
                await using var next = messages.GetAsyncEnumerator(attempt.Token);
                int batch = 0;
                while (true)
                {
                    var more = next.MoveNextAsync();
                    if (batch > 0 && (!more.IsCompleted || batch >= ApplyBatch))
                    {
                        ReleaseBatch(); // nothing more buffered (or a batch in hand): publishers get their answers, the hub sends
                        batch = 0;
                    }

                    if (!await more.ConfigureAwait(false))
                    {
                        break;
                    }

                    if (Take(next.Current))
                    {
                        batch++;
                    }
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (OperationCanceledException) when (attempt.IsCancellationRequested)
            {
                ReleaseBatch();
                Interlocked.Increment(ref _followerRestarts);
                _faults.Write(LogLevel.Warning, "JetStream follower stalled after position {Head} with {Lag} events to read: started again", Head, Lag);
            }
            catch (Exception ex)
            {
                ReleaseBatch();
                Interlocked.Increment(ref _followerRestarts);
                _faults.Write(LogLevel.Warning, "JetStream follower restarting after position {Head}: {Error}", Head, ex.Message);
                try
                {
                    await Task.Delay(250, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    // Applies one message of the followed stream; false for one already applied.
    private bool Take(INatsJSMsg<byte[]> message)
    {
        if (message.Metadata is not { } metadata)
        {
            return false;
        }

        long sequence = (long)metadata.Sequence.Stream;
        if (sequence <= Head)
        {
            return false; // redelivered after a restart of the consumer
        }

        RaiseStoreHead(sequence + (long)metadata.NumPending);
        if (sequence > Head + 1)
        {
            Volatile.Read(ref _sink)?.Lost(Head, sequence - 1); // trimmed before this node read them
        }

        var logged = NatsEnvelope.Decode(message.Data, sequence, metadata.Timestamp);
        if (logged is null)
        {
            _faults.Write(LogLevel.Warning, "JetStream message {Sequence} on {Subject} is not a RawSse event; skipped", sequence, message.Subject);
        }
        else
        {
            Volatile.Read(ref _sink)?.Apply(logged);
            if (logged.Event.Id is { } id)
            {
                Index(id, sequence);
            }
        }

        Volatile.Write(ref _applied, sequence);
        return true;
    }

    private void ReleaseBatch()
    {
        long head = Head;
        lock (_lock)
        {
            while (_waiters.TryPeek(out var waiter, out long position) && position <= head)
            {
                _waiters.Dequeue();
                waiter.TrySetResult();
            }
        }

        Volatile.Read(ref _sink)?.Release();
    }

    private void Index(string id, long sequence)
    {
        lock (_lock)
        {
            if (!_ids.TryGetValue(id, out var seen))
            {
                _ids[id] = seen = new List<long>(1);
            }

            seen.Add(sequence);
            _idOrder.Enqueue((id, sequence));
            _indexedChars += id.Length;
            while (_idOrder.Count > MaxIndexedIds || _indexedChars > MaxIndexedIdChars)
            {
                var (oldId, _) = _idOrder.Dequeue();
                _indexedChars -= oldId.Length;
                var list = _ids[oldId];
                list.RemoveAt(0);
                if (list.Count == 0)
                {
                    _ids.Remove(oldId);
                }
            }
        }
    }

    private void RaiseStoreHead(long sequence)
    {
        long known = Volatile.Read(ref _storeHead);
        while (sequence > known)
        {
            long seen = Interlocked.CompareExchange(ref _storeHead, sequence, known);
            if (seen == known)
            {
                return;
            }

            known = seen;
        }
    }

    // A follower that applied nothing for StallPolls polls in a row while the stream held more than it applied is
    // started again from its head (a consumer the server lost, a reconnect the client library did not recover from,
    // or nothing left to read: see SkipRemovedTailAsync). A slow node still moves, and is left alone. Only the
    // follower moves the head.
    private void CheckProgress(long last)
    {
        long head = Head;
        if (last <= head || head != _headAtLastPoll)
        {
            _stalledPolls = 0;
            _headAtLastPoll = head;
            return;
        }

        if (++_stalledPolls < StallPolls)
        {
            return;
        }

        _stalledPolls = 0;
        try
        {
            Volatile.Read(ref _followerAttempt)?.Cancel(); // the follower starts again (and skips a removed tail first)
        }
        catch (ObjectDisposedException)
        {
            // it was starting its next consumer anyway
        }
    }

    // On the follower, before each new consumer: when the stream holds nothing after the head although it reached
    // further (its newest events were removed before this node read them), those positions are lost, and the head
    // moves to the stream's last, so the node is caught up again.
    private async ValueTask SkipRemovedTailAsync(CancellationToken cancellationToken)
    {
        long head = Head, last = Volatile.Read(ref _storeHead);
        if (last <= head)
        {
            return;
        }

        try
        {
            await _stream.GetAsync(new StreamMsgGetRequest { NextBySubj = _subjects.All, Seq = (ulong)head + 1 }, cancellationToken).ConfigureAwait(false);
        }
        catch (NatsJSApiException ex) when (ex.Error.Code == 404)
        {
            Volatile.Read(ref _sink)?.Lost(head, last);
            Volatile.Write(ref _applied, last);
            ReleaseBatch();
        }
    }

    private void NotReady()
    {
        _lastPolled = long.MaxValue;
        Volatile.Write(ref _readyTarget, long.MaxValue);
    }

    // Every half second: how far the stream got (for readiness and the lag), and whether it is still the same stream.
    private async Task WatchAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(s_pollInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                if (_nats.ConnectionState != NatsConnectionState.Open)
                {
                    NotReady();
                    continue;
                }

                try
                {
                    var info = (await _js.GetStreamAsync(_address.Stream, cancellationToken: cancellationToken).ConfigureAwait(false)).Info;
                    if (info.Created != _created && !_replaced)
                    {
                        _replaced = true;
                        _log.LogError("The JetStream stream {Stream} was deleted and created again (a new epoch): this node takes no more appends and is not ready; restart it", _address.Stream);
                    }

                    _gone = false;
                    long last = (long)info.State.LastSeq;
                    RaiseStoreHead(last);
                    CheckProgress(last);
                    Volatile.Write(ref _readyTarget, _lastPolled); // caught up: applied all the stream held one poll ago
                    _lastPolled = last;
                }
                catch (NatsJSApiException ex) when (ex.Error.ErrCode == StreamNotFound)
                {
                    NotReady();
                    if (!_gone)
                    {
                        _gone = true;
                        _log.LogError("The JetStream stream {Stream} is gone (deleted, or the NATS server lost its store): this node takes no appends and is not ready", _address.Stream);
                    }
                }
                catch (Exception ex) when (ex is NatsException or TimeoutException)
                {
                    NotReady(); // whatever the stream holds now is unknown
                    _faults.Write(LogLevel.Warning, "JetStream stream info failed: {Error}", ex.Message);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    // No filter: the stream's subjects are all RawSse's. (nats-server 2.9 knows one filter_subject per consumer, not
    // the filter_subjects list an ordered consumer sends, and would ignore it.)
    private static NatsJSOrderedConsumerOpts Ordered(long from) => new()
    {
        DeliverPolicy = ConsumerConfigDeliverPolicy.ByStartSequence,
        OptStartSeq = (ulong)Math.Max(1, from),
        MaxResetAttempts = -1,
        InactiveThreshold = TimeSpan.FromSeconds(30), // a lost node's consumer goes by itself
    };

    // Every event of the stream after `after` through `through`: complete only when no position in between is missing.
    private async ValueTask<LogRead> ReadAllAsync(long after, long through, int max, CancellationToken cancellationToken)
    {
        var found = await ReadSubjectAsync(_subjects.All, after, through, max + 1, scanLimit: max + 1, keep: null, cancellationToken).ConfigureAwait(false);
        bool complete = found.Scanned <= max && found.Contiguous && found.Last == through;
        var events = found.Events.Count > max ? found.Events.GetRange(0, max) : found.Events;
        return new LogRead(events, complete && events.Count == found.Events.Count);
    }

    private async ValueTask<LogRead> ReadTopicsAsync(long after, long through, long firstKept, IReadOnlyCollection<string> topics, int max, CancellationToken cancellationToken)
    {
        var wanted = topics as IReadOnlySet<string> ?? topics.ToHashSet(StringComparer.Ordinal);
        bool complete = firstKept <= after + 1; // the stream's oldest events went: which topics they were in is unknown
        var events = new List<LoggedEvent>();
        foreach (var topic in wanted)
        {
            string subject = _subjects.Topic(topic);
            var found = await ReadSubjectAsync(subject, after, through, max + 1, scanLimit: max + 1, keep: e => e.Topics.Count == 1 && e.Topics[0] == topic, cancellationToken).ConfigureAwait(false);
            events.AddRange(found.Events);
            complete &= found.Scanned <= max && await LostNothingAfterAsync(subject, after, cancellationToken).ConfigureAwait(false);
        }

        var multi = await ReadSubjectAsync(_subjects.Multi, after, through, max + 1, scanLimit: MultiScanFactor * (max + 1), keep: e => e.Topics.Any(wanted.Contains), cancellationToken).ConfigureAwait(false);
        events.AddRange(multi.Events);
        complete &= multi.Events.Count <= max && (multi.Last == through || multi.Scanned < MultiScanFactor * (max + 1))
            && await LostNothingAfterAsync(_subjects.Multi, after, cancellationToken).ConfigureAwait(false);

        events.Sort((a, b) => a.Sequence.CompareTo(b.Sequence));
        if (events.Count > max)
        {
            events.RemoveRange(max, events.Count - max);
            complete = false;
        }

        return new LogRead(events, complete);
    }

    // A subject loses its oldest messages first, and only once it holds its limit: it lost none after `after` when
    // its oldest kept message is no later than after + 1, or when it holds fewer than its limit (what the stream's own
    // limits took is older than its first kept sequence, which the caller checks).
    private async ValueTask<bool> LostNothingAfterAsync(string subject, long after, CancellationToken cancellationToken)
    {
        var stream = await _js.GetStreamAsync(_address.Stream, new StreamInfoRequest { SubjectsFilter = subject }, cancellationToken).ConfigureAwait(false);
        long count = stream.Info.State.Subjects is { } counts && counts.TryGetValue(subject, out long n) ? n : 0;
        if (count < _retention.PerTopicCount)
        {
            return true;
        }

        try
        {
            var oldest = await stream.GetAsync(new StreamMsgGetRequest { NextBySubj = subject, Seq = 1 }, cancellationToken).ConfigureAwait(false);
            return (long)oldest.Message.Seq <= after + 1;
        }
        catch (NatsJSApiException ex) when (ex.Error.Code == 404)
        {
            return true; // trimmed away meanwhile: older than the stream's first kept sequence
        }
    }

    private async ValueTask<bool> StillKeptAsync(long sequence, CancellationToken cancellationToken)
    {
        try
        {
            await _stream.GetAsync(new StreamMsgGetRequest { Seq = (ulong)sequence }, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (NatsJSApiException ex) when (ex.Error.Code == 404)
        {
            return false;
        }
    }

    // The messages of `filter` after `after` through `through`, oldest first, with an ordered consumer of their own:
    // those `keep` takes (every event when null), until `limit` of them or `scanLimit` messages.
    private async ValueTask<SubjectRead> ReadSubjectAsync(string filter, long after, long through, int limit, int scanLimit, Func<LoggedEvent, bool>? keep, CancellationToken cancellationToken)
    {
        var read = new SubjectRead(after);
        string name = "rawsse-read-" + Guid.NewGuid().ToString("N");
        var consumer = await _stream.CreateOrUpdateConsumerAsync(new ConsumerConfig(name)
        {
            FilterSubject = filter,
            DeliverPolicy = ConsumerConfigDeliverPolicy.ByStartSequence,
            OptStartSeq = (ulong)(after + 1),
            AckPolicy = ConsumerConfigAckPolicy.None,
            MemStorage = true,
            NumReplicas = 1,
            InactiveThreshold = TimeSpan.FromSeconds(30), // should the delete below not reach the server
        }, cancellationToken).ConfigureAwait(false);
        try
        {
            await ReadConsumerAsync(consumer, read, through, limit, scanLimit, keep, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            try
            {
                await _stream.DeleteConsumerAsync(name, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is NatsException or TimeoutException)
            {
            }
        }

        if (read.Last < through && read.Scanned < scanLimit && read.Events.Count < limit)
        {
            read.Last = through; // nothing more of this subject up to the snapshot
            read.Contiguous &= filter != _subjects.All;
        }

        return read;
    }

    private static async ValueTask ReadConsumerAsync(INatsJSConsumer consumer, SubjectRead read, long through, int limit, int scanLimit, Func<LoggedEvent, bool>? keep, CancellationToken cancellationToken)
    {
        while (read.Events.Count < limit && read.Scanned < scanLimit && read.Last < through)
        {
            int asked = Math.Min(ReadChunk, scanLimit - read.Scanned);
            int got = 0;
            bool caughtUp = false;
            await foreach (var message in consumer.FetchNoWaitAsync<byte[]>(new NatsJSFetchOpts { MaxMsgs = asked }, cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                got++;
                if (message.Metadata is not { } metadata)
                {
                    continue;
                }

                long sequence = (long)metadata.Sequence.Stream;
                if (sequence > through)
                {
                    caughtUp = true;
                    break;
                }

                read.Contiguous &= sequence == read.Last + 1;
                read.Last = sequence;
                read.Scanned++;
                if (NatsEnvelope.Decode(message.Data, sequence, metadata.Timestamp) is { } logged && (keep is null || keep(logged)))
                {
                    read.Events.Add(logged);
                }

                caughtUp |= metadata.NumPending == 0;
                if (read.Events.Count == limit || read.Scanned == scanLimit)
                {
                    break;
                }
            }

            if (caughtUp || got < asked)
            {
                break;
            }
        }
    }

    private sealed class SubjectRead(long after)
    {
        public List<LoggedEvent> Events { get; } = [];
        public long Last { get; set; } = after;
        public int Scanned { get; set; }
        public bool Contiguous { get; set; } = true;
    }
}
