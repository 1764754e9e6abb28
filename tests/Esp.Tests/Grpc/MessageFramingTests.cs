using System.Buffers;
using System.IO.Pipelines;
using Esp.Grpc;
using Esp.Grpc.Protocol;
using Esp.Interop;
using Esp.Tests.Infrastructure;
using Esp.Tests.Interop;
using Google.Protobuf;
using Xunit;

namespace Esp.Tests.Grpc;

public class MessageFramingTests
{
    private const int Max = GrpcProtocol.DefaultMaxReceiveMessageSize;

    /// <summary>Several messages, one of them empty (a zero-length body) and one with a two-byte length varint inside.</summary>
    private static readonly EchoRequest[] Messages =
    [
        new() { Payload = ByteString.CopyFrom(1, 2, 3) },
        new(),
        new() { ResponseCount = 7 },
        new() { Payload = EchoService.Pattern(130), CompressResponse = true },
    ];

    private static byte[] Stream(IEnumerable<IMessage> messages) => messages.SelectMany(m => GrpcWire.Frame(m)).ToArray();

    [Fact]
    public void Stream_OfTestMessages_ContainsAZeroLengthFrame()
    {
        var frames = GrpcWire.ParseFrames(Stream(Messages));

        Assert.Equal(Messages.Length, frames.Count);
        Assert.Contains(frames, f => f.Body.Length == 0);
    }

    [Fact]
    public async Task ReadMessageAsync_StreamSplitAtEveryByteBoundary_ReadsEveryMessage()
    {
        var bytes = Stream(Messages);

        for (var split = 0; split <= bytes.Length; split++)
        {
            var read = await ReadChunksAsync([bytes[..split], bytes[split..]]).DefaultTimeout();
            Assert.Equal(Messages, read);
        }
    }

    [Fact]
    public async Task ReadMessageAsync_StreamDeliveredOneBytePerWrite_ReadsEveryMessage()
    {
        var bytes = Stream(Messages);

        var read = await ReadChunksAsync(bytes.Select(b => new[] { b })).DefaultTimeout();

        Assert.Equal(Messages, read);
    }

    [Fact]
    public async Task ReadMessageAsync_StreamDeliveredOneBytePerWrite_EachMessageReadAsItsLastByteArrives()
    {
        var frames = Messages.Select(m => GrpcWire.Frame(m)).ToArray();
        var bytes = frames.SelectMany(f => f).ToArray();
        var pipe = InlinePipe();
        var written = 0;
        var readAt = new List<int>();
        // Started inline (not on the thread pool): it reads up to the first wait before anything is written.
        var reading = ReadAndRecordAsync();
        async Task ReadAndRecordAsync()
        {
            while (await ReadAsync(pipe.Reader).DefaultTimeout() is not null)
                readAt.Add(written);
        }

        for (var i = 0; i < bytes.Length; i++)
        {
            written = i + 1;
            await pipe.Writer.WriteAsync(bytes.AsMemory(i, 1)).DefaultTimeout();
        }
        pipe.Writer.Complete();
        await reading.DefaultTimeout();

        var frameEnds = frames.Select(f => f.Length).Aggregate(new List<int>(), (ends, length) => { ends.Add(ends.LastOrDefault() + length); return ends; });
        Assert.Equal(frameEnds, readAt);
    }

    [Fact]
    public async Task ReadMessageAsync_WholeFrameBuffered_ReturnsBeforeTheStreamEnds()
    {
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(GrpcWire.Frame(Messages[0])).DefaultTimeout();

        var message = await ReadAsync(pipe.Reader).DefaultTimeout();

        Assert.Equal(Messages[0], message);
    }

    [Fact]
    public async Task ReadMessageAsync_EmptyStream_ReturnsNull()
    {
        var pipe = new Pipe();
        pipe.Writer.Complete();

        Assert.Null(await ReadAsync(pipe.Reader).DefaultTimeout());
    }

    [Fact]
    public async Task ReadMessageAsync_AfterLastMessage_ReturnsNull()
    {
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(GrpcWire.Frame(Messages[0])).DefaultTimeout();
        pipe.Writer.Complete();

        Assert.NotNull(await ReadAsync(pipe.Reader).DefaultTimeout());
        Assert.Null(await ReadAsync(pipe.Reader).DefaultTimeout());
    }

    [Fact]
    public async Task ReadMessageAsync_LengthOverLimit_ResourceExhaustedFromTheHeaderAlone()
    {
        var pipe = new Pipe();
        // Only the header: the writer stays open and the body never comes.
        await pipe.Writer.WriteAsync(GrpcWire.Header(0, 1000)).DefaultTimeout();

        var ex = await Assert.ThrowsAsync<RpcException>(() => ReadAsync(pipe.Reader, maxMessageSize: 999).DefaultTimeout());

        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
        Assert.Equal("Received message larger than max (1000 vs. 999)", ex.Status.Detail);
    }

    [Fact]
    public async Task ReadMessageAsync_LengthAtMaximumUint_ResourceExhaustedWithUnsignedLength()
    {
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(GrpcWire.Header(0, uint.MaxValue)).DefaultTimeout();

        var ex = await Assert.ThrowsAsync<RpcException>(() => ReadAsync(pipe.Reader).DefaultTimeout());

        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
        Assert.Equal("Received message larger than max (4294967295 vs. 4194304)", ex.Status.Detail);
    }

    [Fact]
    public async Task ReadMessageAsync_LengthEqualToLimit_ReadsTheMessage()
    {
        var message = new EchoRequest { Payload = EchoService.Pattern(100) };
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(GrpcWire.Frame(message)).DefaultTimeout();

        var read = await ReadAsync(pipe.Reader, maxMessageSize: message.CalculateSize()).DefaultTimeout();

        Assert.Equal(message, read);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(0x80)]
    [InlineData(0xFF)]
    public async Task ReadMessageAsync_CompressedFlagNotZeroOrOne_Internal(byte flag)
    {
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(GrpcWire.Frame([1, 2, 3], flag)).DefaultTimeout();

        var ex = await Assert.ThrowsAsync<RpcException>(() => ReadAsync(pipe.Reader).DefaultTimeout());

        Assert.Equal(StatusCode.Internal, ex.StatusCode);
        Assert.Equal($"Invalid compressed flag {flag} in a message header: it must be 0 or 1.", ex.Status.Detail);
    }

    [Fact]
    public async Task ReadMessageAsync_StreamEndsAnywhereInsideAFrame_InternalIncomplete()
    {
        var frame = GrpcWire.Frame(Messages[0]);

        // 1..4: inside the header; 5..length-1: inside the body.
        for (var cut = 1; cut < frame.Length; cut++)
        {
            var pipe = new Pipe();
            await pipe.Writer.WriteAsync(frame.AsMemory(0, cut)).DefaultTimeout();
            pipe.Writer.Complete();

            var ex = await Assert.ThrowsAsync<RpcException>(() => ReadAsync(pipe.Reader).DefaultTimeout());

            Assert.Equal(StatusCode.Internal, ex.StatusCode);
            Assert.Equal("Incomplete message: the stream ended inside a message frame.", ex.Status.Detail);
        }
    }

    [Fact]
    public async Task ReadMessageAsync_StreamEndsInsideSecondFrame_FirstMessageThenInternal()
    {
        var pipe = new Pipe();
        byte[] bytes = [.. GrpcWire.Frame(Messages[0]), .. GrpcWire.Header(0, 10, [1, 2, 3])];
        await pipe.Writer.WriteAsync(bytes).DefaultTimeout();
        pipe.Writer.Complete();

        Assert.Equal(Messages[0], await ReadAsync(pipe.Reader).DefaultTimeout());
        var ex = await Assert.ThrowsAsync<RpcException>(() => ReadAsync(pipe.Reader).DefaultTimeout());
        Assert.Equal(MessageFraming.IncompleteMessageStatus, ex.Status);
    }

    [Fact]
    public async Task ReadMessageAsync_BodyNotAProtobufMessage_Internal()
    {
        var pipe = new Pipe();
        // Field 1 (bytes) says 5 bytes follow; none do.
        await pipe.Writer.WriteAsync(GrpcWire.Frame([0x0A, 0x05])).DefaultTimeout();

        var ex = await Assert.ThrowsAsync<RpcException>(() => ReadAsync(pipe.Reader).DefaultTimeout());

        Assert.Equal(StatusCode.Internal, ex.StatusCode);
        Assert.StartsWith("Failed to parse a message: ", ex.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadMessageAsync_TokenCancelled_ThrowsOperationCanceled()
    {
        var pipe = new Pipe();
        using var cancellation = new CancellationTokenSource();
        var read = PipeMessageReader.ReadMessageAsync(pipe.Reader, EchoRequest.Parser, null, Max, cancellation.Token);

        await cancellation.CancelAsync().DefaultTimeout();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => read.DefaultTimeout());
    }

    [Fact]
    public void TryReadFrame_OneBytePerSegment_SlicesEveryMessage()
    {
        var buffer = Segments.OneBytePerSegment(Stream(Messages));

        var read = new List<EchoRequest>();
        while (MessageFraming.TryReadFrame(ref buffer, Max, out var compressed, out var body))
        {
            Assert.False(compressed);
            read.Add(EchoRequest.Parser.ParseFrom(body));
        }

        Assert.Equal(Messages, read);
        Assert.True(buffer.IsEmpty);
    }

    [Fact]
    public void TryReadFrame_PartialFrame_FalseAndBufferUntouched()
    {
        var bytes = GrpcWire.Frame(Messages[0]);
        var buffer = new ReadOnlySequence<byte>(bytes, 0, bytes.Length - 1);

        Assert.False(MessageFraming.TryReadFrame(ref buffer, Max, out _, out _));
        Assert.Equal(bytes.Length - 1, buffer.Length);
    }

    [Fact]
    public void WriteHeader_CompressedLength_FlagThenBigEndianLength()
    {
        var header = new byte[MessageFraming.HeaderSize];

        MessageFraming.WriteHeader(header, compressed: true, 0x01020304);

        Assert.Equal([1, 1, 2, 3, 4], header);
    }

    /// <summary>
    /// Writes the chunks one by one while a reader reads as they come. Both sides run inline, so
    /// the reader has seen (and waited after) each chunk before the next one is written.
    /// </summary>
    private static async Task<List<EchoRequest>> ReadChunksAsync(IEnumerable<byte[]> chunks)
    {
        var pipe = InlinePipe();
        var reading = ReadAllAsync(pipe.Reader);
        foreach (var chunk in chunks)
        {
            if (chunk.Length > 0)
                await pipe.Writer.WriteAsync(chunk).DefaultTimeout();
        }
        pipe.Writer.Complete();
        return await reading.DefaultTimeout();
    }

    private static Pipe InlinePipe() =>
        new(new PipeOptions(readerScheduler: PipeScheduler.Inline, writerScheduler: PipeScheduler.Inline, useSynchronizationContext: false));

    private static async Task<List<EchoRequest>> ReadAllAsync(PipeReader reader)
    {
        var messages = new List<EchoRequest>();
        while (await ReadAsync(reader).DefaultTimeout() is { } message)
            messages.Add(message);
        return messages;
    }

    private static Task<EchoRequest?> ReadAsync(PipeReader reader, int maxMessageSize = Max, string? encoding = null) =>
        PipeMessageReader.ReadMessageAsync(reader, EchoRequest.Parser, encoding, maxMessageSize, CancellationToken.None).AsTask();
}
