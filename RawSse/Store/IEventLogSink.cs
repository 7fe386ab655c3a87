namespace RawSse.Store;

/// <summary>What a log hands its committed events to (the hub): each exactly once, in log order.</summary>
public interface IEventLogSink
{
    void Apply(LoggedEvent logged);
}
