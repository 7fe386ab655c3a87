using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace LoadGen;

/// <summary>
/// One SSE stream on a raw socket, bound to its own source address before connecting. Its receive loop owns
/// one small buffer; each receive is time-stamped once, de-chunked in place when the server chunks, and
/// scanned for complete events. The per-step counters are written only by this loop.
/// </summary>
internal sealed class SseSubscriber : IEventSink
{
    // Linux: bind to the address now and pick the port at connect, so ports are shared across destinations.
    private const int SolIp = 0;
    private const int IpBindAddressNoPort = 24;

    private readonly SubscriberGroup _group;
    private readonly Socket _socket;
    private readonly byte[] _buffer;
    private readonly TaskCompletionSource<int> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private SseScanner _scanner = new();
    private ChunkedDecoder _chunks;
    private bool _chunked;

    // Per-step counters: written by the receive loop, read by the group after the step has drained.
    internal int StepId = -1;
    internal long Next;
    internal long Received;
    internal long Missing;
    internal long Duplicates;
    internal long OutOfOrder;
    internal long Stale;
    internal long LastSequence = -1;

    internal long LastTickId = -1;
    internal long LastTickAt;
    internal long BytesReceived;

    public SseSubscriber(SubscriberGroup group, IPAddress source, int bufferBytes, int target)
    {
        _group = group;
        Target = target;
        _buffer = new byte[bufferBytes];
        _socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            _socket.SetRawSocketOption(SolIp, IpBindAddressNoPort, BitConverter.GetBytes(1));
        }
        catch (SocketException)
        {
            // Older kernels: bind picks the port, which still works within one address's range.
        }

        _socket.Bind(new IPEndPoint(source, 0));
    }

    /// <summary>Which of the group's server ports this stream connects to.</summary>
    public int Target { get; }

    /// <summary>The response status once the head has arrived (200 means subscribed), or 0 when the connection failed first.</summary>
    public Task<int> Ready => _ready.Task;

    /// <summary>True once the stream has ended, for any reason.</summary>
    public bool Closed { get; private set; }

    public async Task RunAsync(IPEndPoint server, byte[] request, CancellationToken cancellationToken)
    {
        try
        {
            await _socket.ConnectAsync(server, cancellationToken).ConfigureAwait(false);
            await _socket.SendAsync(request, SocketFlags.None, cancellationToken).ConfigureAwait(false);
            await ReceiveLoopAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is SocketException or OperationCanceledException or ObjectDisposedException or InvalidDataException)
        {
            if (!_ready.Task.IsCompleted)
            {
                _group.NoteConnectError(ex);
            }
        }
        finally
        {
            Closed = true;
            _ready.TrySetResult(0);
            _socket.Dispose();
        }
    }

    public void Close() => _socket.Dispose();

    private async Task ReceiveLoopAsync(CancellationToken cancellationToken)
    {
        int held = 0; // bytes at the start of _buffer not consumed yet
        bool headDone = false;
        while (true)
        {
            int n = await _socket.ReceiveAsync(_buffer.AsMemory(held), SocketFlags.None, cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                return;
            }

            long now = Stopwatch.GetTimestamp();
            BytesReceived += n;
            int fresh = held;
            held += n;
            if (!headDone)
            {
                if (!ResponseHead.TryParse(_buffer.AsSpan(0, held), out var head))
                {
                    if (held == _buffer.Length)
                    {
                        throw new InvalidDataException("response head larger than the receive buffer");
                    }

                    continue;
                }

                headDone = true;
                _chunked = head.Chunked;
                _ready.TrySetResult(head.Status);
                if (head.Status != 200)
                {
                    return;
                }

                _buffer.AsSpan(head.Length, held - head.Length).CopyTo(_buffer);
                held -= head.Length;
                fresh = 0;
            }

            if (_chunked)
            {
                held = fresh + _chunks.Decode(_buffer.AsSpan(fresh, held - fresh));
            }

            int consumed = _scanner.Scan(_buffer.AsSpan(0, held), now, this);
            if (consumed == 0 && held == _buffer.Length)
            {
                _scanner.SkipLongLine(_buffer);
                held = 0;
            }
            else if (consumed > 0)
            {
                _buffer.AsSpan(consumed, held - consumed).CopyTo(_buffer);
                held -= consumed;
            }

            if (_chunked && _chunks.Ended)
            {
                return;
            }
        }
    }

    public void OnEvent(long sequence, long sentAt, long receivedAt)
    {
        var step = _group.CurrentStep;
        if (step.Id != StepId)
        {
            StepId = step.Id;
            Next = step.FirstSequence;
            Received = Missing = Duplicates = OutOfOrder = Stale = 0;
            LastSequence = -1;
        }

        if (sequence < step.FirstSequence)
        {
            Stale++;
            return;
        }

        if (sequence == Next)
        {
            Received++;
            Next++;
            step.Record(sequence, sentAt, receivedAt, Target);
        }
        else if (sequence > Next)
        {
            Missing += sequence - Next;
            Received++;
            Next = sequence + 1;
            step.Record(sequence, sentAt, receivedAt, Target);
        }
        else if (sequence == LastSequence)
        {
            Duplicates++;
        }
        else
        {
            OutOfOrder++;
        }

        LastSequence = sequence;
    }

    public void OnTick(long tickId, long receivedAt)
    {
        if (LastTickId >= 0)
        {
            if (tickId == LastTickId + 1)
            {
                _group.CurrentStep.RecordTickInterval(receivedAt - LastTickAt);
            }
            else if (tickId > LastTickId + 1)
            {
                _group.CurrentStep.TicksMissed(tickId - LastTickId - 1);
            }
        }

        LastTickId = tickId;
        LastTickAt = receivedAt;
        _group.CurrentStep.RecordTick(tickId, receivedAt);
    }
}
