using System.Text;
using RawSse.Sse;
using RawSse.Transport;

namespace RawSse.Tests;

/// <summary>
/// A subscriber without a socket: its queue, its slow-consumer policy and its writer against a sink that records what
/// it is given and can be made full or broken. What the connection owns (closing) is only ever asked for through the
/// sink's Complete, never done by the subscriber.
/// </summary>
public sealed class SubscriberTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(5);

    [Test]
    public void Enqueue_IdleSubscriber_MustFlushAndSendsTheFrameWhole()
    {
        // Arrange
        var sink = new RecordingSink();
        var subscriber = NewSubscriber(sink);

        // Act
        var result = subscriber.Enqueue(Frame("a"));
        subscriber.Flush();

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(result, Is.EqualTo(EnqueueResult.MustFlush), "the first frame makes the writer due");
            Assert.That(sink.Sends, Is.EqualTo(new[] { "data: a\n\n" }), "one send with the frame's bytes");
            Assert.That(sink.CompletedWith, Is.Null, "nothing completed");
        });
    }

    [Test]
    public async Task Enqueue_WhileSocketFull_QueuedFramesLeaveTogetherInOneSend()
    {
        // Arrange: the sink takes nothing synchronously, so the first frame goes to the asynchronous writer and waits.
        var sink = new RecordingSink { Full = true };
        var subscriber = NewSubscriber(sink);
        subscriber.Enqueue(Frame("1"));
        subscriber.Flush();

        // Act
        var second = subscriber.Enqueue(Frame("2"));
        var third = subscriber.Enqueue(Frame("3"));
        sink.Full = false;
        sink.ReleasePendingSend();

        // Assert
        Assert.That(await sink.WaitForSendsAsync(2, Deadline), Is.True, $"sends: {string.Join(" | ", sink.Sends)}");
        Assert.Multiple(() =>
        {
            Assert.That(second, Is.EqualTo(EnqueueResult.Queued), "a writer is already running");
            Assert.That(third, Is.EqualTo(EnqueueResult.Queued), "a writer is already running");
            Assert.That(sink.Sends, Is.EqualTo(new[] { "data: 1\n\n", "data: 2\n\ndata: 3\n\n" }), "the queued frames coalesced");
        });
    }

    [Test]
    public void Enqueue_QueueFullUnderDisconnect_CutIsReportedOnlyWhenAsked()
    {
        // Arrange
        var sink = new RecordingSink { Full = true };
        var subscriber = NewSubscriber(sink, new SubscriberLimits(MaxQueuedFrames: 2, MaxQueuedBytes: 1 << 20, SlowConsumerPolicy.Disconnect));
        subscriber.Enqueue(Frame("in flight"));
        subscriber.Flush();
        subscriber.Enqueue(Frame("q1"));
        subscriber.Enqueue(Frame("q2"));

        // Act
        var result = subscriber.Enqueue(Frame("one too many"));
        var completedBeforeReport = sink.CompletedWith;
        subscriber.ReportCut();

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(result, Is.EqualTo(EnqueueResult.Cut), "the third queued frame is past the limit of two");
            Assert.That(completedBeforeReport, Is.Null, "Enqueue never completes the sink itself (the hub calls it under its lock)");
            Assert.That(sink.CompletedWith, Is.EqualTo(DisconnectReason.SlowConsumer), "reported as a slow consumer");
            Assert.That(subscriber.Enqueue(Frame("after")), Is.EqualTo(EnqueueResult.Refused), "a cut subscriber takes nothing more");
        });
    }

    [Test]
    public async Task Enqueue_QueueFullUnderDropOldest_DropsTheOldestAndKeepsTheNewest()
    {
        // Arrange
        var sink = new RecordingSink { Full = true };
        var hub = new Hub();
        var subscriber = new Subscriber(sink, ["t"], new SubscriberLimits(2, 1 << 20, SlowConsumerPolicy.DropOldest), hub);
        subscriber.Enqueue(Frame("in flight"));
        subscriber.Flush();
        subscriber.Enqueue(Frame("old"));
        subscriber.Enqueue(Frame("middle"));

        // Act
        var result = subscriber.Enqueue(Frame("new"));
        sink.Full = false;
        sink.ReleasePendingSend();

        // Assert
        Assert.That(await sink.WaitForSendsAsync(2, Deadline), Is.True, $"sends: {string.Join(" | ", sink.Sends)}");
        Assert.Multiple(() =>
        {
            Assert.That(result, Is.EqualTo(EnqueueResult.Queued));
            Assert.That(sink.Sends[1], Is.EqualTo("data: middle\n\ndata: new\n\n"), "the oldest queued frame was dropped");
            Assert.That(hub.Counters.Drops, Is.EqualTo(1), "drops counted");
            Assert.That(sink.CompletedWith, Is.Null, "drop-oldest never cuts");
        });
    }

    [Test]
    public void EnqueueExempt_MoreThanTheLimits_IsNeitherCutNorCountedAgainstLiveFrames()
    {
        // Arrange: a replay of five frames against a queue limit of one.
        var sink = new RecordingSink { Full = true };
        var subscriber = NewSubscriber(sink, new SubscriberLimits(1, 1 << 20, SlowConsumerPolicy.Disconnect));

        // Act
        bool due = subscriber.EnqueueExempt([Frame("r1"), Frame("r2"), Frame("r3"), Frame("r4"), Frame("r5")]);
        if (due)
        {
            subscriber.Flush();
        }

        var live = subscriber.Enqueue(Frame("live"));

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(live, Is.EqualTo(EnqueueResult.Queued), "the replay does not fill the live queue");
            Assert.That(sink.CompletedWith, Is.Null, "nothing cut");
        });
    }

    [Test]
    public void Flush_SinkFails_CompletesWithWriteFailed()
    {
        // Arrange
        var sink = new RecordingSink { Broken = true };
        var subscriber = NewSubscriber(sink);
        subscriber.Enqueue(Frame("x"));

        // Act
        subscriber.Flush();

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(sink.CompletedWith, Is.EqualTo(DisconnectReason.WriteFailed));
            Assert.That(subscriber.Enqueue(Frame("y")), Is.EqualTo(EnqueueResult.Refused), "a failed subscriber takes nothing more");
        });
    }

    [Test]
    public async Task CompleteAsync_FramesQueued_SendsThemThenEndsTheStream()
    {
        // Arrange
        var sink = new RecordingSink { Full = true };
        var subscriber = NewSubscriber(sink);
        subscriber.Enqueue(Frame("1"));
        subscriber.Flush();
        subscriber.Enqueue(Frame("2"));

        // Act
        var completion = subscriber.CompleteAsync();
        bool doneEarly = completion.IsCompleted;
        sink.Full = false;
        sink.ReleasePendingSend();
        await completion.WaitAsync(Deadline);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(doneEarly, Is.False, "not complete while frames are still queued");
            Assert.That(sink.Sends, Is.EqualTo(new[] { "data: 1\n\n", "data: 2\n\n" }), "everything queued went out first");
            Assert.That(sink.Ended, Is.True, "then the stream was half-closed");
            Assert.That(sink.CompletedWith, Is.Null, "a clean end is not a failure");
        });
    }

    [Test]
    public async Task StopAsync_SendInFlight_CompletesOnlyOnceTheSendEnds()
    {
        // Arrange
        var sink = new RecordingSink { Full = true };
        var subscriber = NewSubscriber(sink);
        subscriber.Enqueue(Frame("in flight"));
        subscriber.Flush();

        // Act
        var stopped = subscriber.StopAsync();
        bool stoppedEarly = stopped.IsCompleted;
        sink.ReleasePendingSend();
        await stopped.WaitAsync(Deadline);

        // Assert
        Assert.Multiple(() =>
        {
            Assert.That(stoppedEarly, Is.False, "a pending send keeps the stop waiting, so the socket is not closed under it");
            Assert.That(sink.Ended, Is.False, "a stop is not a clean end");
        });
    }

    [Test]
    public void CheckTimeouts_SendStalledPastWriteTimeout_CompletesWithWriteTimeout()
    {
        // Arrange
        var sink = new RecordingSink { Full = true };
        var subscriber = NewSubscriber(sink);
        subscriber.Enqueue(Frame("stuck"));
        subscriber.Flush();

        // Act
        subscriber.CheckTimeouts(Environment.TickCount64 + 1_000, heartbeatMs: 0, writeTimeoutMs: 500);

        // Assert
        Assert.That(sink.CompletedWith, Is.EqualTo(DisconnectReason.WriteTimeout));
    }

    [Test]
    public async Task CheckTimeouts_QuietPastHeartbeat_SendsOneCommentLine()
    {
        // Arrange
        var sink = new RecordingSink();
        var subscriber = NewSubscriber(sink);

        // Act
        subscriber.CheckTimeouts(Environment.TickCount64 + 20_000, heartbeatMs: 15_000, writeTimeoutMs: 10_000);

        // Assert
        Assert.That(await sink.WaitForSendsAsync(1, Deadline), Is.True, "a heartbeat was sent");
        Assert.That(sink.Sends, Is.EqualTo(new[] { ":\n" }));
    }

    private static Subscriber NewSubscriber(RecordingSink sink, SubscriberLimits? limits = null) =>
        new(sink, ["t"], limits ?? new SubscriberLimits(1024, 1 << 20, SlowConsumerPolicy.Disconnect), new Hub());

    private static byte[] Frame(string data) => SseFrames.Encode(new SseEvent(data), id: null);

    /// <summary>A sink that records each send as text; Full makes the non-blocking send take nothing and the asynchronous send wait until released.</summary>
    private sealed class RecordingSink : IStreamSink
    {
        private readonly Lock _lock = new();
        private readonly List<string> _sends = [];
        private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public volatile bool Full;
        public volatile bool Broken;

        public DisconnectReason? CompletedWith { get; private set; }
        public bool Ended { get; private set; }

        public IReadOnlyList<string> Sends
        {
            get { lock (_lock) { return [.. _sends]; } }
        }

        public void ReleasePendingSend() => _gate.TrySetResult();

        public async Task<bool> WaitForSendsAsync(int count, TimeSpan deadline) =>
            await Polling.UntilAsync(() => Sends.Count >= count, deadline);

        public int TrySend(ReadOnlySpan<byte> bytes)
        {
            if (Broken)
            {
                return -1;
            }

            if (Full)
            {
                return 0;
            }

            Record(bytes);
            return bytes.Length;
        }

        public async ValueTask<bool> SendAsync(ReadOnlyMemory<byte> bytes)
        {
            if (Full)
            {
                await _gate.Task.WaitAsync(Deadline);
            }

            Record(bytes.Span);
            return !Broken;
        }

        public void EndStream() => Ended = true;

        public void Complete(DisconnectReason reason) => CompletedWith ??= reason;

        private void Record(ReadOnlySpan<byte> bytes)
        {
            lock (_lock)
            {
                _sends.Add(Encoding.UTF8.GetString(bytes));
            }
        }
    }
}
