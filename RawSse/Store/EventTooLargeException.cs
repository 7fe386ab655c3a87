namespace RawSse.Store;

/// <summary>The store cannot take an event this large (a NATS server's <c>max_payload</c>); a publish gets 413, and retrying will not help.</summary>
public sealed class EventTooLargeException(string message) : Exception(message);
