namespace RawSse.Sse;

/// <summary>
/// A frame in a subscriber's queue with the <see cref="System.Diagnostics.Stopwatch.GetTimestamp"/> of the moment the
/// hub accepted its event, or 0 for a frame that is no publish (the head, a replay, a heartbeat): a struct, so the
/// delivery delay is measured without an allocation per delivery.
/// </summary>
internal readonly record struct QueuedFrame(byte[] Frame, long PublishedAt);
