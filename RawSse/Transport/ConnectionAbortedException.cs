namespace RawSse.Transport;

/// <summary>Completes a connection's writer after an abort, so bytes still buffered are discarded, not sent.</summary>
internal sealed class ConnectionAbortedException() : Exception("the connection was aborted");
