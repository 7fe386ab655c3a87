using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;

namespace RawSse.Http;

/// <summary>
/// Everything a connection reads, in one place: request heads (parsed by <see cref="RequestParser"/> within its
/// limits), request bodies (<c>Content-Length</c> or chunked, read or discarded), and the lingering read after a final
/// answer. It alone calls
/// <c>ReadAsync</c> and <c>AdvanceTo</c> on the connection's pipe.
/// </summary>
internal sealed class RequestReader(PipeReader input, RequestLimits limits)
{
    private const int YieldEveryBytes = 64 * 1024;

    private bool _needMore = true; // false after a complete head: what is buffered may hold the next one
    private bool _bodyHeld;        // a body returned by ReadWholeBodyAsync, not consumed yet

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
    /// Reads a request's body as it arrives, <c>Content-Length</c> or chunked, into <paramref name="into"/>, or drops it
    /// when that is null. A chunked body over <paramref name="maxBytes"/> is refused as soon as a chunk says so.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<BodyRead> ReadBodyAsync(HttpRequest request, long maxBytes, BodyBuffer? into)
    {
        if (!request.Chunked)
        {
            return await ReadLengthAsync(Math.Max(request.ContentLength, 0), into).ConfigureAwait(false);
        }

        var decoder = new ChunkedDecoder(maxBytes);
        while (true)
        {
            var result = await input.ReadAsync().ConfigureAwait(false);
            if (result.IsCanceled)
            {
                return BodyRead.Canceled;
            }

            if (DecodeBuffered(ref decoder, result, into) is { } end)
            {
                return end;
            }
        }
    }

    // Decodes what one read brought and consumes it; the body's end (complete, refused or cut short), or null for more.
    private BodyRead? DecodeBuffered(ref ChunkedDecoder decoder, in ReadResult result, BodyBuffer? into)
    {
        var reader = new SequenceReader<byte>(result.Buffer);
        try
        {
            if (decoder.Decode(ref reader, into))
            {
                input.AdvanceTo(reader.Position);
                return BodyRead.Complete;
            }
        }
        catch (BadRequestException ex)
        {
            input.AdvanceTo(result.Buffer.End);
            return BodyRead.Refused(ex);
        }

        input.AdvanceTo(reader.Position, result.Buffer.End);
        return result.IsCompleted ? BodyRead.Closed : null;
    }

    /// <summary>
    /// Waits until a <c>Content-Length</c> body of <paramref name="length"/> bytes is buffered whole and returns it
    /// where it lies in the pipe, uncopied; the caller parses it, then must call <see cref="ConsumeBody"/> before
    /// anything else reads. The memory held is the length the caller allowed.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<(BodyRead Read, ReadOnlySequence<byte> Body)> ReadWholeBodyAsync(long length)
    {
        if (length == 0)
        {
            return (BodyRead.Complete, ReadOnlySequence<byte>.Empty);
        }

        while (true)
        {
            var result = await input.ReadAsync().ConfigureAwait(false);
            if (result.IsCanceled)
            {
                return (BodyRead.Canceled, default);
            }

            var buffer = result.Buffer;
            if (buffer.Length >= length)
            {
                _bodyHeld = true;
                return (BodyRead.Complete, buffer.Slice(0, length));
            }

            if (result.IsCompleted)
            {
                input.AdvanceTo(buffer.End);
                return (BodyRead.Closed, default);
            }

            input.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    /// <summary>Releases the body <see cref="ReadWholeBodyAsync"/> returned (the next request starts after it).</summary>
    public void ConsumeBody(in ReadOnlySequence<byte> body)
    {
        if (_bodyHeld)
        {
            _bodyHeld = false;
            input.AdvanceTo(body.End);
        }
    }

    private async ValueTask<BodyRead> ReadLengthAsync(long length, BodyBuffer? into)
    {
        long sinceYield = 0;
        while (length > 0)
        {
            if (sinceYield >= YieldEveryBytes)
            {
                // A large body that keeps arriving would keep this thread reading it: every 64 KiB the rest of it
                // queues behind the work already waiting (another connection's publish, a stream's send), so a small
                // event's delivery waits for at most that much of a large one, not for the whole body.
                sinceYield = 0;
                await Task.Yield();
            }

            var result = await input.ReadAsync().ConfigureAwait(false);
            if (result.IsCanceled)
            {
                return BodyRead.Canceled;
            }

            var buffer = result.Buffer;
            long take = Math.Min(length, buffer.Length);
            into?.Append(buffer.Slice(0, take));
            input.AdvanceTo(buffer.GetPosition(take));
            length -= take;
            sinceYield += take;
            if (length > 0 && result.IsCompleted)
            {
                return BodyRead.Closed;
            }
        }

        return BodyRead.Complete;
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
