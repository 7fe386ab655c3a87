using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;

namespace RawSse.Http;

/// <summary>
/// Everything a connection reads, in one place: request heads (parsed by <see cref="RequestParser"/> within its
/// limits), request bodies (read or discarded by one loop), and the lingering read after a final answer. It alone calls
/// <c>ReadAsync</c> and <c>AdvanceTo</c> on the connection's pipe.
/// </summary>
internal sealed class RequestReader(PipeReader input, RequestLimits limits)
{
    private bool _needMore = true; // false after a complete head: what is buffered may hold the next one

    /// <summary>
    /// Parses the next request head from what is buffered, waiting for more bytes only when <paramref name="wait"/> is
    /// true (else it answers <see cref="HeadResult.WouldWait"/>, so the caller can flush pipelined answers first).
    /// </summary>
    /// <exception cref="BadRequestException">The head is malformed or over a limit; the input is consumed.</exception>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<HeadResult> ReadHeadAsync(HttpRequest request, bool wait)
    {
        ReadResult result;
        if (_needMore || !input.TryRead(out result))
        {
            if (!wait)
            {
                return HeadResult.WouldWait;
            }

            result = await input.ReadAsync().ConfigureAwait(false);
        }

        if (result.IsCanceled)
        {
            return HeadResult.Canceled;
        }

        var buffer = result.Buffer;
        var reader = new SequenceReader<byte>(buffer);
        bool complete;
        try
        {
            complete = RequestParser.TryParseHead(ref reader, request, limits);
        }
        catch (BadRequestException)
        {
            input.AdvanceTo(buffer.End);
            throw;
        }

        if (complete)
        {
            input.AdvanceTo(reader.Position);
            _needMore = false;
            return HeadResult.Complete;
        }

        input.AdvanceTo(reader.Position, buffer.End);
        _needMore = true;
        // EOF between requests is the normal end of a keep-alive connection; mid-head, there is no one to answer.
        return result.IsCompleted ? HeadResult.Closed : HeadResult.Partial;
    }

    /// <summary>
    /// Reads the next <paramref name="length"/> bytes of a request body into <paramref name="into"/>, or discards them
    /// when <paramref name="into"/> is empty. False when the body stopped short (the client closed, or the read was
    /// cancelled); the connection cannot go on then.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<bool> ReadBodyAsync(long length, Memory<byte> into)
    {
        while (length > 0)
        {
            var result = await input.ReadAsync().ConfigureAwait(false);
            if (result.IsCanceled)
            {
                return false;
            }

            var buffer = result.Buffer;
            long take = Math.Min(length, buffer.Length);
            if (!into.IsEmpty)
            {
                buffer.Slice(0, take).CopyTo(into.Span);
                into = into[(int)take..];
            }

            input.AdvanceTo(buffer.GetPosition(take));
            length -= take;
            if (length > 0 && result.IsCompleted)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// After a final answer and a half-close: reads and discards what the client still sends, for at most
    /// <paramref name="time"/> and <paramref name="maxBytes"/>, since closing with unread bytes would send a reset that
    /// can destroy the answer before the client reads it (RFC 9112 §9.6).
    /// </summary>
    public async ValueTask LingerAsync(TimeSpan time, long maxBytes)
    {
        using var timeout = new CancellationTokenSource(time);
        long discarded = 0;
        try
        {
            while (discarded < maxBytes)
            {
                var result = await input.ReadAsync(timeout.Token).ConfigureAwait(false);
                discarded += result.Buffer.Length;
                input.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted || result.IsCanceled)
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The client kept the connection open: close it anyway.
        }
    }

    /// <summary>Makes a pending read return <see cref="HeadResult.Canceled"/> (a stop or a timeout).</summary>
    public void CancelPendingRead() => input.CancelPendingRead();
}
