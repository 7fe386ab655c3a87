namespace RawSse.Sse;

/// <summary>What <see cref="Subscriber.Enqueue"/> did with a frame.</summary>
internal enum EnqueueResult
{
    /// <summary>Queued behind frames a writer is already sending.</summary>
    Queued,

    /// <summary>Queued, and the writer is due: the caller runs it once, outside its lock.</summary>
    MustFlush,

    /// <summary>Not queued: the stream is closed or completing.</summary>
    Refused,

    /// <summary>Not queued: the queue was full under the disconnect policy; the caller reports it outside its lock.</summary>
    Cut,
}
