namespace RawSse.Sse;

/// <summary>How much one subscriber may have queued, and what happens past it; one instance per server, shared.</summary>
internal sealed record SubscriberLimits(int MaxQueuedFrames, long MaxQueuedBytes, SlowConsumerPolicy Policy);
