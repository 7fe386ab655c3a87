namespace RawSse.Sse;

/// <summary>How much one subscriber may have queued, and what happens past it.</summary>
internal readonly record struct SubscriberLimits(int MaxQueuedFrames, long MaxQueuedBytes, SlowConsumerPolicy Policy);
