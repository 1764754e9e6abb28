using System.Net;
using Esp.Grpc.Protocol;
using Google.Protobuf;

namespace Esp.Grpc.Client;

/// <summary>
/// The request body. With a single message (unary, server streaming) it writes that frame.
/// Otherwise it hands the HTTP/2 request stream to <see cref="WriteAsync"/> as messages come, and
/// ends the stream (END_STREAM) when the caller completes it: the call is full duplex.
/// </summary>
internal sealed class RequestContent : HttpContent
{
    private readonly IMessage? _single;
    private readonly bool _compress;
    private readonly TaskCompletionSource<Stream> _stream = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _completed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public RequestContent(IMessage? single, bool compress)
    {
        _single = single;
        _compress = compress;
        Headers.TryAddWithoutValidation(GrpcProtocol.ContentTypeHeader, GrpcProtocol.ContentType);
    }

    public async Task WriteAsync(IMessage message, CancellationToken cancellationToken)
    {
        var stream = await _stream.Task.WaitAsync(cancellationToken);
        using var frame = MessageSerializer.SerializeFrame(message, _compress);
        await stream.WriteAsync(frame.Memory, cancellationToken);
        await stream.FlushAsync(cancellationToken);
    }

    /// <summary>Half-closes the request: no more messages.</summary>
    public void Complete() => _completed.TrySetResult();

    /// <summary>Ends the body early (the call was cancelled or has failed).</summary>
    public void Abort()
    {
        _stream.TrySetCanceled();
        _completed.TrySetCanceled();
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        if (_single is not null)
        {
            using var frame = MessageSerializer.SerializeFrame(_single, _compress);
            await stream.WriteAsync(frame.Memory, cancellationToken);
            return;
        }
        // SocketsHttpHandler holds a request's HEADERS on a reused connection until the first body
        // write: flush now, so the server sees the call before the first message (grpc-dotnet does the same).
        await stream.FlushAsync(cancellationToken);
        _stream.TrySetResult(stream);
        await _completed.Task.WaitAsync(cancellationToken);
    }

    protected override bool TryComputeLength(out long length)
    {
        length = -1;
        return false;
    }
}
