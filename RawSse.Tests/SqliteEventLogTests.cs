using Microsoft.Data.Sqlite;
using RawSse.Store;
using static RawSse.Tests.EventLogContractTests;

namespace RawSse.Tests;

/// <summary>
/// What only the SQLite log has to show beyond the shared contract (<see cref="EventLogContractTests"/>): it keeps its
/// epoch, events, head and floors across a reopen, refuses a path it cannot use with a clear message, fails an append
/// it cannot commit without taking a position and recovers by itself, and lets go of the file when closed.
/// </summary>
[TestFixture]
public sealed class SqliteEventLogTests
{
    private EventLogStores _stores = null!;

    [SetUp]
    public void SetUp() => _stores = new EventLogStores("sqlite");

    [TearDown]
    public async Task TearDown() => await _stores.DisposeAsync();

    [Test]
    public async Task Open_ExistingFile_SameEpochHeadAndEventsAndPositionsContinue()
    {
        // Arrange
        string file = _stores.NewFile();
        string epoch;
        await using (var first = SqliteEventLog.Open(file, LogRetention.Default))
        {
            epoch = first.Epoch;
            await first.AppendAsync([Event("a", "1", id: "x"), Event(["a", "b"], "2"), Event("b", "3")]);
        }

        // Act
        var reopened = _stores.Track(SqliteEventLog.Open(file, LogRetention.Default));
        var read = await reopened.ReadAfterAsync(0, topics: null, max: 100);
        long next = await reopened.AppendAsync([Event("a", "4")]);

        // Assert
        Assert.That(reopened.Epoch, Is.EqualTo(epoch));
        Assert.That(read.Events.Select(e => (e.Sequence, e.Event.Data)), Is.EqualTo(new[] { (1L, "1"), (2L, "2"), (3L, "3") }));
        Assert.That(read.Events[1].Topics, Is.EqualTo(new[] { "a", "b" }));
        Assert.That(read.Complete, Is.True);
        Assert.That(await reopened.FindIdAsync("x"), Is.EqualTo(new long[] { 1 }));
        Assert.That(next, Is.EqualTo(4), "the next position continues after the head");
        Assert.That(reopened.Head, Is.EqualTo(4));
    }

    [Test]
    public async Task Open_AfterEverythingWasTrimmed_PositionsNotReused()
    {
        // Arrange
        string file = _stores.NewFile();
        await using (var first = SqliteEventLog.Open(file, new LogRetention(TotalBytes: 1)))
        {
            await first.AppendAsync([Event("a", "1"), Event("a", "2"), Event("a", "3")]);
            await first.TrimAsync();
        }

        // Act
        var reopened = _stores.Track(SqliteEventLog.Open(file, LogRetention.Default));
        var read = await reopened.ReadAfterAsync(0, ["a"], max: 100);
        long next = await reopened.AppendAsync([Event("a", "4")]);

        // Assert
        Assert.That(read.Events, Is.Empty);
        Assert.That(read.Complete, Is.False, "the floor survived the restart");
        Assert.That(next, Is.EqualTo(4));
    }

    [Test]
    public async Task Open_LowerPerTopicCount_TrimsWhatWasKeptBefore()
    {
        // Arrange
        string file = _stores.NewFile();
        await using (var first = SqliteEventLog.Open(file, new LogRetention(PerTopicCount: 10)))
        {
            await first.AppendAsync([.. Enumerable.Range(1, 5).Select(i => Event("a", $"{i}"))]);
        }

        // Act
        var reopened = _stores.Track(SqliteEventLog.Open(file, new LogRetention(PerTopicCount: 3)));
        await reopened.AppendAsync([Event("a", "6")]);
        await reopened.TrimAsync();
        var fromStart = await reopened.ReadAfterAsync(0, ["a"], max: 100);
        var fromFloor = await reopened.ReadAfterAsync(3, ["a"], max: 100);

        // Assert
        Assert.That(fromStart.Events.Select(e => e.Sequence), Is.EqualTo(new long[] { 4, 5, 6 }));
        Assert.That(fromStart.Complete, Is.False);
        Assert.That(fromFloor.Complete, Is.True);
    }

    [Test]
    public async Task AppendAsync_OverPerTopicCount_TrimmedWithoutBeingAsked()
    {
        // Arrange
        var log = _stores.Track(SqliteEventLog.Open(_stores.NewFile(), new LogRetention(PerTopicCount: 3)));

        // Act
        await log.AppendAsync([.. Enumerable.Range(1, 5).Select(i => Event("a", $"{i}"))]);
        bool trimmed = await Polling.UntilAsync(async () => !(await log.ReadAfterAsync(0, ["a"], max: 100)).Complete, TimeSpan.FromSeconds(10));

        // Assert
        Assert.That(trimmed, Is.True, "the writer trims a topic over its limit after a short delay, without TrimAsync");
        var read = await log.ReadAfterAsync(0, ["a"], max: 100);
        Assert.That(read.Events.Select(e => e.Sequence), Is.EqualTo(new long[] { 3, 4, 5 }));
    }

    [Test]
    public async Task ReadAfterAsync_RandomAppendsAndTrims_SameAsTheMemoryLog()
    {
        // Arrange: the reference implementation and SQLite, under the same tight limits, each append trimmed at once
        // (so the SQLite writer's batch-then-trim order is the memory log's event-by-event one)
        var random = new Random(20261201);
        string[] names = ["a", "b", "c", "d", "e"];
        var retention = new LogRetention(PerTopicCount: 6, PerTopicBytes: 900, TotalBytes: 2400);
        var memory = _stores.Track(new MemoryEventLog(retention));
        var sqlite = _stores.Track(SqliteEventLog.Open(_stores.NewFile(), retention));
        int complete = 0, incomplete = 0;

        for (int op = 1; op <= 400; op++)
        {
            // Act
            string[] topics = [.. names.OrderBy(_ => random.Next()).Take(random.Next(1, 4))];
            var e = Event(topics, new string('x', random.Next(0, 200)), id: random.Next(4) == 0 ? $"id{random.Next(20)}" : null);
            Assert.That(await sqlite.AppendAsync([e]), Is.EqualTo(await memory.AppendAsync([e])));
            await sqlite.TrimAsync();
            await memory.TrimAsync();

            // Assert
            if (op % 10 != 0)
            {
                continue;
            }

            for (int probe = 0; probe < 8; probe++)
            {
                string[]? asked = random.Next(5) == 0 ? null : [.. names.OrderBy(_ => random.Next()).Take(random.Next(1, 4))];
                long after = random.Next(0, op + 1);
                int max = random.Next(1, 30);
                var expected = await memory.ReadAfterAsync(after, asked, max);
                var actual = await sqlite.ReadAfterAsync(after, asked, max);
                string what = $"op {op}: after {after}, max {max}, topics {(asked is null ? "all" : string.Join(",", asked))}";
                Assert.That(actual.Events.Select(x => x.Sequence), Is.EqualTo(expected.Events.Select(x => x.Sequence)), what);
                Assert.That(actual.Complete, Is.EqualTo(expected.Complete), what);
                _ = expected.Complete ? complete++ : incomplete++;
            }

            string id = $"id{random.Next(20)}";
            Assert.That(await sqlite.FindIdAsync(id), Is.EqualTo(await memory.FindIdAsync(id)), $"op {op}: id {id}");
        }

        Assert.That(complete, Is.GreaterThan(20), "probes that found a complete history");
        Assert.That(incomplete, Is.GreaterThan(20), "probes that met a floor or their max");
    }

    [Test]
    public void Open_PathUnderARegularFile_ThrowsUnavailableNamingThePath()
    {
        // Arrange: a parent that is a file stops root too, where a read-only folder would not
        string blocker = Path.Combine(_stores.Folder, "not-a-folder");
        File.WriteAllText(blocker, "x");
        string path = Path.Combine(blocker, "log.db");

        // Act
        var ex = Assert.Throws<EventLogUnavailableException>(() => SqliteEventLog.Open(path, LogRetention.Default));

        // Assert
        Assert.That(ex!.Message, Does.Contain(path));
    }

    [Test]
    public void Open_FileThatIsNotADatabase_ThrowsUnavailableNamingThePath()
    {
        // Arrange
        string path = _stores.NewFile();
        File.WriteAllText(path, new string('x', 4096));

        // Act
        var ex = Assert.Throws<EventLogUnavailableException>(() => SqliteEventLog.Open(path, LogRetention.Default));

        // Assert
        Assert.That(ex!.Message, Does.Contain(path).And.Contain("not a database"));
    }

    [Test]
    public async Task AppendAsync_DatabaseLockedElsewhere_FailsKeepsHeadAndRecoversByItself()
    {
        // Arrange
        string file = _stores.NewFile();
        var log = _stores.Track(SqliteEventLog.Open(file, LogRetention.Default, new SqliteEventLogOptions { BusyTimeout = TimeSpan.FromMilliseconds(100) }));
        var sink = new RecordingSink();
        log.Attach(sink);
        await log.AppendAsync([Event("a", "1")]);
        await using var other = OpenOther(file);
        SqliteSchema.Execute(other, "BEGIN EXCLUSIVE");

        // Act
        var failure = Assert.ThrowsAsync<EventLogUnavailableException>(async () => await log.AppendAsync([Event("a", "lost")]));
        long headWhileLocked = log.Head;
        SqliteSchema.Execute(other, "COMMIT");
        long next = await log.AppendAsync([Event("a", "2")]);

        // Assert
        Assert.That(failure!.Message, Does.Contain(file));
        Assert.That(headWhileLocked, Is.EqualTo(1), "a failed append takes no position");
        Assert.That(next, Is.EqualTo(2), "the next append succeeds once the lock is gone, at the next position");
        Assert.That(sink.Applied.Select(e => e.Event.Data), Is.EqualTo(new[] { "1", "2" }), "the sink never saw the failed event");
        var read = await log.ReadAfterAsync(0, topics: null, max: 100);
        Assert.That(read.Events.Select(e => e.Event.Data), Is.EqualTo(new[] { "1", "2" }));
    }

    [Test]
    public async Task AppendAsync_DiskFull_FailsKeepsHeadAndRecoversByItself()
    {
        // Arrange: max_page_count at the file's size stands in for a full disk (SQLITE_FULL on the next new page)
        bool full = false;
        var log = _stores.Track(SqliteEventLog.Open(_stores.NewFile(), LogRetention.Default, new SqliteEventLogOptions
        {
            BeforeBatch = connection =>
            {
                using var pages = connection.CreateCommand();
                pages.CommandText = "PRAGMA page_count";
                long limit = Volatile.Read(ref full) ? (long)pages.ExecuteScalar()! : 1_073_741_823;
                SqliteSchema.Execute(connection, $"PRAGMA max_page_count={limit}");
            },
        }));
        var sink = new RecordingSink();
        log.Attach(sink);
        await log.AppendAsync([Event("a", "1")]);
        Volatile.Write(ref full, true);

        // Act
        var failure = Assert.ThrowsAsync<EventLogUnavailableException>(async () => await log.AppendAsync([Event("a", new string('x', 64 * 1024))]));
        long headWhileFull = log.Head;
        Volatile.Write(ref full, false);
        long next = await log.AppendAsync([Event("a", "2")]);

        // Assert
        Assert.That(failure!.Message, Does.Contain("full"));
        Assert.That(headWhileFull, Is.EqualTo(1), "a failed append takes no position");
        Assert.That(next, Is.EqualTo(2), "once there is room, the next append succeeds at the next position");
        Assert.That(sink.Applied.Select(e => e.Event.Data), Is.EqualTo(new[] { "1", "2" }));
        var read = await log.ReadAfterAsync(0, topics: null, max: 100);
        Assert.That(read.Events.Select(e => e.Event.Data), Is.EqualTo(new[] { "1", "2" }));
    }

    [Test]
    public async Task AppendAsync_TooManyWaiting_FailsAtOnce()
    {
        // Arrange: a lock elsewhere holds the writer in its first batch while appends pile up behind it
        string file = _stores.NewFile();
        var log = _stores.Track(SqliteEventLog.Open(file, LogRetention.Default,
            new SqliteEventLogOptions { BusyTimeout = TimeSpan.FromMilliseconds(100), MaxPendingAppends = 2 }));
        await using var other = OpenOther(file);
        SqliteSchema.Execute(other, "BEGIN EXCLUSIVE");
        var waiting = new List<ValueTask<long>>();

        // Act
        ValueTask<long> refused = default;
        for (int i = 0; i < 10; i++)
        {
            var append = log.AppendAsync([Event("a", $"{i}")]);
            if (append.IsFaulted)
            {
                refused = append;
                break;
            }

            waiting.Add(append);
        }

        SqliteSchema.Execute(other, "COMMIT");
        foreach (var append in waiting)
        {
            try
            {
                await append;
            }
            catch (EventLogUnavailableException)
            {
                // The batch that met the lock fails; those behind it may commit.
            }
        }

        // Assert
        Assert.That(refused.IsFaulted, Is.True, $"no append was refused at once; {waiting.Count} were taken");
        Assert.That(waiting, Has.Count.LessThanOrEqualTo(3), "two wait, one more may be in the writer's hands");
        var ex = Assert.ThrowsAsync<EventLogUnavailableException>(async () => await refused);
        Assert.That(ex!.Message, Does.Contain("appends waiting"));
        Assert.That(await log.AppendAsync([Event("a", "after")]), Is.EqualTo(log.Head));
    }

    [Test]
    public async Task AppendAsync_SecondLogOnTheSameFile_FailsRatherThanReusePositions()
    {
        // Arrange
        string file = _stores.NewFile();
        var first = _stores.Track(SqliteEventLog.Open(file, LogRetention.Default));
        var second = _stores.Track(SqliteEventLog.Open(file, LogRetention.Default));
        await first.AppendAsync([Event("a", "1")]);

        // Act
        var ex = Assert.ThrowsAsync<EventLogUnavailableException>(async () => await second.AppendAsync([Event("a", "2")]));

        // Assert
        Assert.That(ex!.Message, Does.Contain("another process").And.Contain(file));
        Assert.That(second.Head, Is.Zero);
        Assert.That(first.Head, Is.EqualTo(1));
    }

    [Test]
    public async Task DisposeAsync_AppendsStillQueued_CommitThenTheFileIsReleased()
    {
        // Arrange
        string file = _stores.NewFile();
        var log = SqliteEventLog.Open(file, LogRetention.Default);
        var appends = Enumerable.Range(1, 200).Select(i => log.AppendAsync([Event("a", $"{i}")]).AsTask()).ToList();

        // Act
        await log.DisposeAsync();
        var late = Assert.ThrowsAsync<EventLogUnavailableException>(async () => await log.AppendAsync([Event("a", "late")]));
        var positions = await Task.WhenAll(appends);

        // Assert
        Assert.That(positions, Is.EqualTo(Enumerable.Range(1, 200).Select(i => (long)i)), "every queued append committed, in order");
        Assert.That(late!.Message, Does.Contain("closed"));
        Assert.That(File.Exists(file + "-wal"), Is.False, "the last connection to close checkpoints and removes the WAL");
        await using var reopened = SqliteEventLog.Open(file, LogRetention.Default);
        Assert.That(reopened.Head, Is.EqualTo(200));
    }

    private static SqliteConnection OpenOther(string file)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = file, Pooling = false }.ToString());
        connection.Open();
        return connection;
    }
}
