using System.Buffers;
using System.IO.Pipelines;

namespace Esp.Forwarding;

/// <summary>
/// The caller's request body on its way to the backend: a body that is complete when the call
/// starts (every unary call, nearly always) leaves with the request's headers; anything else is
/// written as it arrives, message by message, until the caller ends it. HTTP/2 flow control on
/// both sides gives back pressure. It tells a caller's failure (its stream reset, its connection
/// gone) from the backend's, so the backend is never blamed for a caller that left.
/// </summary>
internal sealed class RequestBodyPump(PipeReader source)
{
    /// <summary>True when reading the caller's body failed (the caller reset or dropped its stream).</summary>
    public bool CallerFailed { get; private set; }

    /// <summary>Bytes handed to the backend so far.</summary>
    public long BytesSent { get; private set; }

    /// <summary>
    /// Takes the whole body if the caller has already sent all of it, without waiting; then call
    /// <see cref="Sent"/> once it is written. Otherwise nothing is taken.
    /// </summary>
    public bool TryTakeComplete(out ReadOnlySequence<byte> body)
    {
        ReadResult result;
        try
        {
            if (!source.TryRead(out result))
            {
                body = default;
                return false;
            }
        }
        catch (Exception)
        {
            CallerFailed = true;
            throw;
        }
        if (result.IsCompleted && !result.IsCanceled)
        {
            body = result.Buffer;
            return true;
        }
        Consume(result.Buffer.Start, result.Buffer.Start); // Leave it for the pump.
        body = default;
        return false;
    }

    /// <summary>
    /// Waits until the caller has sent its whole body, as long as it stays within
    /// <paramref name="limit"/> bytes (beyond that, waiting without reading could stall the caller on
    /// flow control); then <see cref="TryTakeComplete"/> takes it. Nothing is taken for a larger
    /// body, nor when the caller sends nothing new for <paramref name="stallTimeout"/>.
    /// </summary>
    public async ValueTask<BodyWait> WaitForCompleteAsync(long limit, TimeSpan stallTimeout, TimeProvider time, CancellationToken cancellationToken)
    {
        using var stall = new CancellationTokenSource(stallTimeout, time);
        using var waiting = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, stall.Token);
        var received = 0L;
        while (true)
        {
            ReadResult result;
            try
            {
                result = await ReadCallerAsync(waiting.Token, stall.Token);
            }
            catch (OperationCanceledException) when (stall.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                return BodyWait.Stalled;
            }
            var buffer = result.Buffer;
            if (result.IsCompleted || result.IsCanceled || buffer.Length > limit)
            {
                // Nothing taken, nothing marked seen: the next read returns what is there at once.
                Consume(buffer.Start, buffer.Start);
                return result.IsCompleted && !result.IsCanceled ? BodyWait.Complete : BodyWait.TooLarge;
            }
            if (buffer.Length > received)
            {
                received = buffer.Length;
                stall.CancelAfter(stallTimeout); // The caller is sending: the quiet time starts again.
            }
            Consume(buffer.Start, buffer.End); // Nothing taken, all seen: the next read waits for more.
        }
    }

    /// <summary>
    /// Reads the caller's body. The server fails it when the caller resets its stream, a moment
    /// before RequestAborted fires (or the read is cancelled by it, or by the deadline, which the
    /// forwarder tells apart): that is remembered, so it is not blamed on the backend. A read ended
    /// by <paramref name="stalled"/> (our own wait for a quiet caller) is no failure of the caller's.
    /// </summary>
    private async ValueTask<ReadResult> ReadCallerAsync(CancellationToken cancellationToken, CancellationToken stalled = default)
    {
        try
        {
            return await source.ReadAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (stalled.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception)
        {
            CallerFailed = true;
            throw;
        }
    }

    /// <summary>The body from <see cref="TryTakeComplete"/> was written.</summary>
    public void Sent(ReadOnlySequence<byte> body)
    {
        BytesSent += body.Length;
        Consume(body.End, body.End);
    }

    /// <summary>
    /// Writes the body as it arrives until the caller ends it, or until <see cref="Stop"/>. Throws
    /// what failed: the caller's read (then <see cref="CallerFailed"/>) or the backend's write.
    /// </summary>
    public async Task PumpAsync(Func<ReadOnlySequence<byte>, bool, ValueTask> write, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await ReadCallerAsync(cancellationToken);
            if (result.IsCanceled)
                return; // Stop(): the backend's answer is complete.
            var buffer = result.Buffer;
            try
            {
                if (!buffer.IsEmpty || result.IsCompleted)
                    await write(buffer, result.IsCompleted);
                BytesSent += buffer.Length;
            }
            finally
            {
                Consume(buffer.End, buffer.End);
            }
            if (result.IsCompleted)
                return;
        }
    }

    /// <summary>Ends a pump that waits for the caller: the call is over.</summary>
    public void Stop() => source.CancelPendingRead();

    /// <summary>
    /// Kestrel's body reader also throws here when the caller's connection faults between the read
    /// and this call (h2load closing its connections with calls in flight does it): that too is
    /// the caller's failure, not the backend's.
    /// </summary>
    private void Consume(SequencePosition consumed, SequencePosition examined)
    {
        try
        {
            source.AdvanceTo(consumed, examined);
        }
        catch (Exception)
        {
            CallerFailed = true;
            throw;
        }
    }
}

/// <summary>How waiting for a caller's whole body ended.</summary>
internal enum BodyWait
{
    /// <summary>The caller ended its body: take it with <see cref="RequestBodyPump.TryTakeComplete"/>.</summary>
    Complete,

    /// <summary>The body is over the limit (or the read was cancelled): stream it instead.</summary>
    TooLarge,

    /// <summary>The caller sent nothing new for the stall timeout.</summary>
    Stalled,
}
