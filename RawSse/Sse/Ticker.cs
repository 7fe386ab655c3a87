using System.Globalization;
using RawSse.Store;

namespace RawSse.Sse;

/// <summary>
/// The demo source: one shared timer that publishes a <c>tick</c> event to the default topic every interval.
/// Each tick is encoded once by the hub, whatever the number of subscribers.
/// </summary>
internal sealed class Ticker(Hub hub, TimeSpan interval)
{
    /// <summary>The ticker's event name; over HTTP nobody else may publish it (an embedding program may).</summary>
    public const string EventType = "tick";

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(interval);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                if (hub.Log is null)
                {
                    hub.Publish(Hub.DefaultTopic, sequence => new SseEvent(
                        data: string.Create(CultureInfo.InvariantCulture, $$"""{"id":{{sequence}},"time":"{{DateTime.UtcNow:yyyy-MM-ddTHH:mm:ss.fffZ}}"}"""),
                        type: EventType));
                    continue;
                }

                // Behind a log the position is known only once committed: the tick carries its time, and its id is its position.
                try
                {
                    await hub.PublishInlineAsync([Hub.DefaultTopic], new SseEvent(
                        data: string.Create(CultureInfo.InvariantCulture, $$"""{"time":"{{DateTime.UtcNow:yyyy-MM-ddTHH:mm:ss.fffZ}}"}"""),
                        type: EventType)).ConfigureAwait(false);
                }
                catch (EventLogUnavailableException)
                {
                    // The store is failing; publishers are told so (503). A tick is skipped.
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }
}
