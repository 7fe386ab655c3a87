namespace RawSse.Transport;

/// <summary>
/// Told once when a streaming connection's close watcher sees the end: the client closed or reset, sent more than a
/// stream client has reason to, or the socket was aborted. The result of the watch, coming back to its owner.
/// </summary>
internal interface ICloseListener
{
    void OnClosed();
}
