using System.Net.Sockets;

namespace RawSse.Transport;

/// <summary>
/// Past the connection limit: a 503 the client can read, then a close, with at most <see cref="MaxInFlight"/> refusals
/// at a time so a flood past the limit cannot pile up tasks (past that, a plain close). Open connections are untouched.
/// </summary>
internal sealed class ConnectionRefusal
{
    public const int MaxInFlight = 32;

    private static readonly byte[] s_serviceUnavailable =
        "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 24\r\nConnection: close\r\n\r\n503 Service Unavailable\n"u8.ToArray();

    private int _inFlight;

    /// <summary>Takes ownership of <paramref name="socket"/>: answers and closes it, or just closes it.</summary>
    public void Refuse(Socket socket)
    {
        if (Interlocked.Increment(ref _inFlight) > MaxInFlight)
        {
            Interlocked.Decrement(ref _inFlight);
            socket.Dispose();
            return;
        }

        _ = RefuseAsync(socket);
    }

    private async Task RefuseAsync(Socket socket)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            await socket.SendAsync(s_serviceUnavailable, SocketFlags.None, timeout.Token).ConfigureAwait(false);
            socket.Shutdown(SocketShutdown.Send);
            // Read what the client sent until it closes, so our close does not reset the 503 away.
            var scratch = new byte[512];
            while (await socket.ReceiveAsync(scratch, SocketFlags.None, timeout.Token).ConfigureAwait(false) > 0)
            {
            }
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
        finally
        {
            socket.Dispose();
            Interlocked.Decrement(ref _inFlight);
        }
    }
}
