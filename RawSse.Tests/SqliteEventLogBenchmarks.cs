using System.Diagnostics;
using RawSse.Sse;
using RawSse.Store;

namespace RawSse.Tests;

/// <summary>
/// Append throughput of the SQLite log: 8 concurrent appenders of 100-byte events, each waiting for its append
/// before the next, at synchronous FULL and NORMAL. Explicit: run it by name, on a quiet machine.
/// </summary>
[TestFixture]
[Explicit("a measurement, not a check")]
[Category("Benchmark")]
public sealed class SqliteEventLogBenchmarks
{
    [TestCase(true, 0)]
    [TestCase(false, 0)]
    [TestCase(true, 1000)]
    [TestCase(false, 1000)]
    public async Task AppendAsync_EightAppenders_EventsPerSecond(bool synchronousFull, int perTopicCount)
    {
        // Arrange
        const int appenders = 8;
        var duration = TimeSpan.FromSeconds(5);
        await using var stores = new EventLogStores("sqlite");
        var retention = perTopicCount > 0 ? new LogRetention(PerTopicCount: perTopicCount) : new LogRetention(PerTopicCount: int.MaxValue, PerTopicBytes: long.MaxValue, TotalBytes: long.MaxValue);
        var log = stores.Track(SqliteEventLog.Open(stores.NewFile(), retention, new SqliteEventLogOptions { SynchronousFull = synchronousFull }));
        string data = new('x', 100);
        for (int i = 0; i < 500; i++)
        {
            await log.AppendAsync([new NewEvent(["warm"], new SseEvent(data))]);
        }

        // Act
        var clock = Stopwatch.StartNew();
        var runs = Enumerable.Range(0, appenders).Select(a => Task.Run(async () =>
        {
            long count = 0;
            var e = new NewEvent([$"t{a}"], new SseEvent(data));
            while (clock.Elapsed < duration)
            {
                await log.AppendAsync([e]);
                count++;
            }

            return count;
        })).ToArray();
        long total = (await Task.WhenAll(runs)).Sum();
        double seconds = clock.Elapsed.TotalSeconds;

        // Assert
        TestContext.Out.WriteLine($"synchronous={(synchronousFull ? "FULL" : "NORMAL")} perTopicCount={perTopicCount}: {total / seconds:F0} events/s ({total} in {seconds:F1} s)");
        Assert.That(total, Is.GreaterThan(0));
    }
}
