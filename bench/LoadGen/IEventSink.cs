namespace LoadGen;

/// <summary>What <see cref="SseScanner"/> reports: the events the load generator recognises, nothing else.</summary>
internal interface IEventSink
{
    /// <summary>A published bench event: its sequence number and the publisher's <c>Stopwatch</c> timestamp.</summary>
    void OnEvent(long sequence, long sentAt, long receivedAt);

    /// <summary>A ticker event (<c>event: tick</c>, <c>data: {"id":N,...}</c>).</summary>
    void OnTick(long tickId, long receivedAt);
}
