namespace RawSse.Sse;

/// <summary>A publish or a subscription would make more live topics than the hub allows.</summary>
public sealed class TopicLimitException(int maxTopics) : InvalidOperationException($"the hub holds its limit of {maxTopics} live topics")
{
    public int MaxTopics { get; } = maxTopics;
}
