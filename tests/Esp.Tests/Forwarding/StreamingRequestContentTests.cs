using System.Buffers;
using System.IO.Pipelines;
using Esp.Forwarding;
using Microsoft.AspNetCore.Connections;
using Xunit;

namespace Esp.Tests.Forwarding;

/// <summary>The backend request's body tells a caller's failure from the backend's, whichever call of the caller's body reader fails.</summary>
public sealed class StreamingRequestContentTests
{
    [Fact]
    public async Task CallerConnectionFaultsBetweenReadAndAdvance_CallerFailed()
    {
        var content = new StreamingRequestContent(new FaultingReader(faultOnRead: false), "application/grpc");

        await Assert.ThrowsAsync<ConnectionAbortedException>(() => content.CopyToAsync(Stream.Null));

        Assert.True(content.CallerFailed);
        Assert.Equal(5, content.BytesSent);
    }

    [Fact]
    public async Task CallerConnectionFaultsOnRead_CallerFailed()
    {
        var content = new StreamingRequestContent(new FaultingReader(faultOnRead: true), "application/grpc");

        await Assert.ThrowsAsync<ConnectionAbortedException>(() => content.CopyToAsync(Stream.Null));

        Assert.True(content.CallerFailed);
    }

    [Fact]
    public async Task BackendWriteFails_NotTheCaller()
    {
        var body = new Pipe();
        await body.Writer.WriteAsync(new byte[5]);
        var content = new StreamingRequestContent(body.Reader, "application/grpc");

        await Assert.ThrowsAsync<HttpRequestException>(() => content.CopyToAsync(new FailingStream()));

        Assert.False(content.CallerFailed);
    }

    /// <summary>Kestrel's request body reader when the connection faults: a read, or the advance after it, throws.</summary>
    private sealed class FaultingReader(bool faultOnRead) : PipeReader
    {
        public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default) =>
            faultOnRead
                ? throw new ConnectionAbortedException("The HTTP/2 connection faulted.")
                : new(new ReadResult(new ReadOnlySequence<byte>(new byte[5]), isCanceled: false, isCompleted: false));

        public override void AdvanceTo(SequencePosition consumed) => throw new ConnectionAbortedException("The HTTP/2 connection faulted.");

        public override void AdvanceTo(SequencePosition consumed, SequencePosition examined) => AdvanceTo(consumed);

        public override bool TryRead(out ReadResult result) => throw new NotSupportedException();

        public override void CancelPendingRead()
        {
        }

        public override void Complete(Exception? exception = null)
        {
        }
    }

    private sealed class FailingStream : Stream
    {
        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new IOException("The backend connection broke.");

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
            ValueTask.FromException(new IOException("The backend connection broke."));
    }
}
