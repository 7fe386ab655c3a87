using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;

namespace RawSse.Transport;

/// <summary>
/// One accepted socket, and the only code that touches it. While the connection serves requests it reads and writes
/// through pipes (zero-byte reads first, so an idle connection holds no receive buffer). Once it becomes an SSE stream
/// the pipes are dropped: the stream's writer sends through <see cref="IStreamSink"/> with non-blocking sends, and a
/// zero-byte receive watches for the client's close. <see cref="Abort"/> is the one way to close it early; the socket
/// is disposed exactly once, by whichever of abort and close comes first.
/// </summary>
internal sealed class SocketConnection : IStreamSink
{
    private const int MaxDiscardedOnStream = 64 * 1024;
    private const int NoReason = -1;

    private readonly Socket _socket;
    private readonly ILogger _log;
    private readonly int _remotePort;
    private PipeReader? _input;   // both dropped when the connection becomes a stream
    private PipeWriter? _output;
    private int _closeReason = NoReason; // a DisconnectReason: the first one set wins
    private int _disposed;

    // A stream's zero-byte receive in flight and its continuation (made once): cheaper to keep per idle stream than an
    // async method's state machine.
    private ValueTask<int> _readable;
    private Action? _onReadable;
    private ICloseListener? _closeListener;
    private int _discardedOnStream;

    public SocketConnection(Socket socket, long id, ILogger log)
    {
        _socket = socket;
        _socket.NoDelay = true;
        _log = log;
        Id = id;
        var remote = socket.RemoteEndPoint as IPEndPoint;
        RemoteAddress = remote?.Address ?? IPAddress.None;
        _remotePort = remote?.Port ?? 0;
        var stream = new NetworkStream(socket, ownsSocket: false);
        _input = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 4096, minimumReadSize: 1024, leaveOpen: true, useZeroByteReads: true));
        _output = PipeWriter.Create(stream, new StreamPipeWriterOptions(minimumBufferSize: 4096, leaveOpen: true));
    }

    public long Id { get; }
    public IPAddress RemoteAddress { get; }

    /// <summary>The client's address and port, for logs (made when asked for, so a stream does not keep it).</summary>
    public string Remote => new IPEndPoint(RemoteAddress, _remotePort).ToString();

    public PipeReader Input => _input ?? throw new InvalidOperationException("the connection is a stream now");
    public PipeWriter Output => _output ?? throw new InvalidOperationException("the connection is a stream now");

    public DisconnectReason CloseReason => (DisconnectReason)Volatile.Read(ref _closeReason);
    public bool IsAborted => Volatile.Read(ref _disposed) != 0;

    /// <summary>Records why the connection ends, unless a reason was recorded already.</summary>
    public void SetCloseReason(DisconnectReason reason) => Interlocked.CompareExchange(ref _closeReason, (int)reason, NoReason);

    /// <summary>Closes the socket at once (idempotent); whatever waits on it unwinds and cleans up.</summary>
    public void Abort(DisconnectReason reason)
    {
        SetCloseReason(reason);
        DisposeSocket();
    }

    /// <summary>Half-closes: the client sees the end of the response, and the socket can still read.</summary>
    public void ShutdownSend() => _socket.Shutdown(SocketShutdown.Send);

    /// <summary>Sends from a caller's buffer straight to the socket, after what is in the pipe has been flushed.</summary>
    public async ValueTask SendDirectAsync(ReadOnlyMemory<byte> bytes)
    {
        while (!bytes.IsEmpty)
        {
            bytes = bytes[await _socket.SendAsync(bytes, SocketFlags.None).ConfigureAwait(false)..];
        }
    }

    /// <summary>
    /// How many bytes the peer has acknowledged so far (Linux <c>TCP_INFO</c>, <c>tcpi_bytes_acked</c>): it grows while a
    /// slow reader makes progress, even inside one long send. -1 where the kernel does not say.
    /// </summary>
    public long BytesAcked()
    {
        const int IpProtoTcp = 6, TcpInfo = 11, BytesAckedOffset = 120;
        Span<byte> info = stackalloc byte[256];
        try
        {
            int length = _socket.GetRawSocketOption(IpProtoTcp, TcpInfo, info);
            return length >= BytesAckedOffset + 8 ? System.Buffers.Binary.BinaryPrimitives.ReadInt64LittleEndian(info[BytesAckedOffset..]) : -1;
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or PlatformNotSupportedException)
        {
            return -1;
        }
    }

    /// <summary>A reset or a socket closed under the caller is the client's doing or an abort: expected.</summary>
    private static bool IsDisconnect(Exception ex) =>
        ex is SocketException or ObjectDisposedException or OperationCanceledException
        || (ex is IOException io && io.InnerException is SocketException or ObjectDisposedException or null);

    /// <summary>Classifies a fault: a disconnect is counted as a reset; anything else is a bug, logged once.</summary>
    public void OnFault(Exception ex)
    {
        if (IsDisconnect(ex))
        {
            SetCloseReason(DisconnectReason.ClientReset);
            return;
        }

        if (Interlocked.CompareExchange(ref _closeReason, (int)DisconnectReason.ServerFault, NoReason) == NoReason)
        {
            _log.LogError(ex, "connection {Id} ({Remote}): unexpected fault", Id, Remote);
        }
    }

    /// <summary>
    /// The request side is done for good: the pipes are dropped (anything the client pipelined after its stream
    /// request goes with them: no answer can follow an endless response), and the socket becomes non-blocking for the
    /// stream's sends through <see cref="IStreamSink"/>.
    /// </summary>
    public void BecomeStream()
    {
        _input?.Complete();
        _output?.Complete(); // nothing is left unflushed: the stream's head goes out as its first frame
        _input = null;
        _output = null;
        // Synchronous sends now return at once with what the kernel took (or WouldBlock) instead of waiting;
        // asynchronous operations (the watcher's receive) are unaffected.
        _socket.Blocking = false;
    }

    /// <summary>A zero-byte receive waits for the client's close, which <paramref name="listener"/> is told of, once.</summary>
    public void WatchForClose(ICloseListener listener)
    {
        _closeListener = listener;
        _onReadable = OnReadable;
        ReceiveZero();
    }

    /// <summary>Completes the pipes (discarding unflushed bytes after an abort) and disposes the socket.</summary>
    public async ValueTask CloseAsync()
    {
        try
        {
            if (_input is not null)
            {
                await _input.CompleteAsync().ConfigureAwait(false);
            }

            if (_output is not null)
            {
                await _output.CompleteAsync(IsAborted ? new ConnectionAbortedException() : null).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (IsDisconnect(ex))
        {
            // Unflushed bytes to a socket that is gone: nothing to do.
        }
        finally
        {
            DisposeSocket();
        }
    }

    private void DisposeSocket()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _socket.Dispose();
        }
    }

    int IStreamSink.TrySend(ReadOnlySpan<byte> bytes)
    {
        try
        {
            int sent = _socket.Send(bytes, SocketFlags.None, out var error);
            return error switch
            {
                SocketError.Success => sent,
                SocketError.WouldBlock => 0,
                _ => -1,
            };
        }
        catch (ObjectDisposedException)
        {
            return -1;
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    async ValueTask<bool> IStreamSink.SendAsync(ReadOnlyMemory<byte> bytes)
    {
        try
        {
            await SendDirectAsync(bytes).ConfigureAwait(false);
            return true;
        }
        catch (Exception ex) when (IsDisconnect(ex))
        {
            return false;
        }
    }

    void IStreamSink.EndStream()
    {
        try
        {
            ShutdownSend();
        }
        catch (Exception ex) when (IsDisconnect(ex))
        {
            // Gone already: the watcher sees it.
        }
    }

    void IStreamSink.Complete(DisconnectReason reason) => Abort(reason);

    // Waits for the client to send something or close; holds no buffer while it waits.
    private void ReceiveZero()
    {
        do
        {
            try
            {
                _readable = _socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None);
            }
            catch (Exception ex)
            {
                OnFault(ex);
                ReportClosed();
                return;
            }

            if (!_readable.IsCompleted)
            {
                _readable.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(_onReadable!);
                return;
            }
        }
        while (StillOpen());
    }

    private void OnReadable()
    {
        if (StillOpen())
        {
            ReceiveZero();
        }
    }

    // Takes the receive's result. True while the client is still there; otherwise the close is reported.
    private bool StillOpen()
    {
        try
        {
            _readable.GetAwaiter().GetResult();
            if (DiscardReceived())
            {
                return true;
            }
        }
        catch (Exception ex)
        {
            OnFault(ex);
        }

        ReportClosed();
        return false;
    }

    private void ReportClosed()
    {
        Interlocked.Exchange(ref _closeListener, null)?.OnClosed(); // once
    }

    // Reads and drops what the client sent on its stream (the socket is non-blocking). False once it has closed, or has
    // sent more than a stream client has any reason to (requests pipelined behind a stream are never answered, so a
    // little is tolerated; a flood is not read forever).
    private bool DiscardReceived()
    {
        Span<byte> scratch = stackalloc byte[1024];
        while (true)
        {
            int received = _socket.Receive(scratch, SocketFlags.None, out var error);
            if (error == SocketError.WouldBlock)
            {
                return true;
            }

            if (error != SocketError.Success)
            {
                throw new SocketException((int)error);
            }

            if (received == 0)
            {
                SetCloseReason(DisconnectReason.ClientClosed);
                return false;
            }

            _discardedOnStream += received;
            if (_discardedOnStream > MaxDiscardedOnStream)
            {
                SetCloseReason(DisconnectReason.ProtocolError);
                return false;
            }
        }
    }
}
