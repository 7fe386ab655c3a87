namespace RawSse.Sse;

/// <summary>
/// What a hub may hold: per topic, the events and bytes kept for resumes; overall, the bytes kept across topics (the
/// oldest events go first, whatever their topic), the number of live topics, and the number of distinct topic
/// selectors (URI templates and <c>*</c>, in subscriptions and tokens' claims) held at once, each a compiled matcher.
/// </summary>
public sealed record HubLimits(int ReplayCount = 1000, long ReplayBytesPerTopic = 4L << 20, long MaxReplayBytes = 256L << 20, int MaxTopics = 65_536,
    int MaxSelectors = 4096)
{
    public static HubLimits Default { get; } = new();

    /// <exception cref="ArgumentException">A bound out of its range, named.</exception>
    public void Validate()
    {
        Check(ReplayCount is >= 0 and <= 1_000_000, "replay must be between 0 and 1,000,000 events");
        Check(ReplayBytesPerTopic is >= 1024 and <= 1L << 30, "replay bytes per topic must be between 1 KiB and 1 GiB");
        Check(MaxReplayBytes >= ReplayBytesPerTopic && MaxReplayBytes <= 64L << 30, "max replay memory must be at least the replay bytes per topic, and at most 64 GiB");
        Check(MaxTopics is >= 1 and <= 10_000_000, "max topics must be between 1 and 10,000,000");
        Check(MaxSelectors is >= 1 and <= 1_000_000, "max selectors must be between 1 and 1,000,000");
    }

    private static void Check(bool ok, string message)
    {
        if (!ok)
        {
            throw new ArgumentException(message);
        }
    }
}
