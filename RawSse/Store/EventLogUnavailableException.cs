namespace RawSse.Store;

/// <summary>The store cannot take or give events now (disk full, database locked, closed); a publish gets 503.</summary>
public sealed class EventLogUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
