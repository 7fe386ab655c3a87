using Microsoft.Extensions.Logging;

namespace RawSse;

/// <summary>
/// Logs at most <c>perSecond</c> messages a second (or a window of <c>windowMs</c>: once a minute for a failing
/// store); the rest are counted, and the count is logged once when the next window's first message goes out. For
/// messages a client can provoke at will, or that a lasting fault would repeat.
/// </summary>
internal sealed class RateLimitedLog(ILogger log, int perSecond, int windowMs = 1000)
{
    private readonly Lock _lock = new();
    private long _windowStart;  // guarded by _lock
    private int _written;       // guarded by _lock
    private long _suppressed;   // guarded by _lock

    public void Write(LogLevel level, string message, params object?[] args)
    {
        if (!log.IsEnabled(level))
        {
            return;
        }

        long suppressed;
        lock (_lock)
        {
            long now = Environment.TickCount64;
            if (now - _windowStart >= windowMs || _windowStart == 0)
            {
                _windowStart = now;
                _written = 0;
            }

            if (_written >= perSecond)
            {
                _suppressed++;
                return;
            }

            _written++;
            suppressed = _suppressed;
            _suppressed = 0;
        }

        if (suppressed > 0)
        {
            log.Log(level, "{Suppressed} similar messages were not logged (rate limit)", suppressed);
        }

#pragma warning disable CA2254 // The template is one of the server's constant strings, passed through.
        log.Log(level, message, args);
#pragma warning restore CA2254
    }
}
