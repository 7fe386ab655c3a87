namespace RawSse.Sse;

/// <summary>What happens when a subscriber's queue is full.</summary>
public enum SlowConsumerPolicy
{
    /// <summary>Cut the connection; the browser reconnects and replays what it missed from Last-Event-ID.</summary>
    Disconnect,

    /// <summary>Drop the oldest queued frames to make room; the subscriber sees a gap.</summary>
    DropOldest,
}
