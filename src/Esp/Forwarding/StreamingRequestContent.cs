using System.IO.Pipelines;
using System.Net;
using Esp.Grpc.Protocol;

namespace Esp.Forwarding;

/// <summary>
/// The backend request's body: whatever the caller sends is written to the backend as it
/// arrives, flushed at once (streams are forwarded message by message, not buffered), and the
/// backend stream is ended when the caller ends its own. HTTP/2 flow control on both sides
/// gives back pressure.
/// </summary>
internal sealed class StreamingRequestContent : HttpContent
{
    private readonly PipeReader _source;

    public StreamingRequestContent(PipeReader source, string? contentType)
    {
        _source = source;
        Headers.TryAddWithoutValidation(GrpcProtocol.ContentTypeHeader, contentType ?? GrpcProtocol.ContentType);
    }

    /// <summary>True when reading the caller's body failed (the caller reset or dropped its stream).</summary>
    public bool CallerFailed { get; private set; }

    /// <summary>Bytes sent to the backend so far.</summary>
    public long BytesSent { get; private set; }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        // SocketsHttpHandler holds a request's HEADERS on a reused connection until the first body
        // write: flush now, or a stream whose backend speaks first would wait for the caller.
        await stream.FlushAsync(cancellationToken);
        while (true)
        {
            ReadResult result;
            try
            {
                result = await _source.ReadAsync(cancellationToken);
            }
            catch (Exception)
            {
                // Kestrel fails the body when the caller resets its stream, a moment before
                // RequestAborted fires (or the read is cancelled by it, or by the deadline, which
                // the forwarder tells apart): remember it, so it is not blamed on the backend.
                CallerFailed = true;
                throw;
            }
            var buffer = result.Buffer;
            try
            {
                foreach (var segment in buffer)
                    await stream.WriteAsync(segment, cancellationToken);
                BytesSent += buffer.Length;
                if (!buffer.IsEmpty)
                    await stream.FlushAsync(cancellationToken);
            }
            finally
            {
                Consume(buffer.End);
            }
            if (result.IsCompleted || result.IsCanceled)
                return;
        }
    }

    /// <summary>
    /// Kestrel's body reader also throws here when the caller's connection faults between the read
    /// and this call (h2load closing its connections with calls in flight does it): that too is
    /// the caller's failure, not the backend's.
    /// </summary>
    private void Consume(SequencePosition consumed)
    {
        try
        {
            _source.AdvanceTo(consumed);
        }
        catch (Exception)
        {
            CallerFailed = true;
            throw;
        }
    }

    protected override bool TryComputeLength(out long length)
    {
        length = -1;
        return false;
    }
}
