using System.Buffers;
using System.IO.Compression;
using System.IO.Pipelines;
using System.Text;
using Esp.Grpc;
using Esp.Grpc.Protocol;
using Esp.Interop;
using Esp.Tests.Infrastructure;
using Esp.Tests.Interop;
using Google.Protobuf;
using Xunit;

namespace Esp.Tests.Grpc;

public class MessageCompressionTests
{
    private const int Max = GrpcProtocol.DefaultMaxReceiveMessageSize;

    [Fact]
    public void SerializeFrame_Uncompressed_FlagZeroAndPlainBody()
    {
        var message = new EchoRequest { Payload = EchoService.Pattern(300) };

        using var frame = MessageSerializer.SerializeFrame(message, compress: false);

        Assert.Equal(GrpcWire.Frame(message), frame.Memory.ToArray());
    }

    [Fact]
    public void SerializeFrame_Compressed_FlagOneAndGzipBody()
    {
        var message = new EchoRequest { Payload = EchoService.Pattern(10_000) };

        using var frame = MessageSerializer.SerializeFrame(message, compress: true);

        var (flag, body) = Assert.Single(GrpcWire.ParseFrames(frame.Memory.ToArray()));
        Assert.Equal(1, flag);
        Assert.Equal([0x1F, 0x8B], body[..2]);
        Assert.True(body.Length < message.CalculateSize());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(10_000)]
    [InlineData(200_000)]
    public void Deserialize_GzipFrame_RoundTrips(int payloadSize)
    {
        var message = new EchoRequest { Payload = EchoService.Pattern(payloadSize), ResponseCount = 3 };
        using var frame = MessageSerializer.SerializeFrame(message, compress: true);
        var buffer = new ReadOnlySequence<byte>(frame.Memory);

        Assert.True(MessageFraming.TryReadFrame(ref buffer, Max, out var compressed, out var body));
        var read = MessageSerializer.Deserialize(EchoRequest.Parser, body, compressed, "gzip", Max);

        Assert.True(compressed);
        Assert.True(buffer.IsEmpty);
        Assert.Equal(message, read);
    }

    [Fact]
    public void Deserialize_EncodingNameInOtherCase_Inflates()
    {
        var message = new EchoRequest { Payload = EchoService.Pattern(100) };

        var read = MessageSerializer.Deserialize(EchoRequest.Parser, Sequence(GrpcWire.Gzip(message.ToByteArray())), compressed: true, "GZIP", Max);

        Assert.Equal(message, read);
    }

    [Fact]
    public async Task ReadMessageAsync_GzipCallMixingCompressedAndPlainFrames_ReadsBoth()
    {
        var first = new EchoRequest { Payload = EchoService.Pattern(500) };
        var second = new EchoRequest { ResponseCount = 2 };
        using var compressedFrame = MessageSerializer.SerializeFrame(first, compress: true);
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(compressedFrame.Memory).DefaultTimeout();
        await pipe.Writer.WriteAsync(GrpcWire.Frame(second)).DefaultTimeout();
        pipe.Writer.Complete();

        Assert.Equal(first, await ReadAsync(pipe.Reader, "gzip").DefaultTimeout());
        Assert.Equal(second, await ReadAsync(pipe.Reader, "gzip").DefaultTimeout());
        Assert.Null(await ReadAsync(pipe.Reader, "gzip").DefaultTimeout());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("identity")]
    public void Deserialize_CompressedFlagWithoutGzipEncoding_Internal(string? encoding)
    {
        var body = Sequence(GrpcWire.Gzip(new EchoRequest { ResponseCount = 1 }.ToByteArray()));

        var ex = Assert.Throws<RpcException>(() => MessageSerializer.Deserialize(EchoRequest.Parser, body, compressed: true, encoding, Max));

        Assert.Equal(StatusCode.Internal, ex.StatusCode);
        Assert.Equal("A message has the compressed flag set but the call's grpc-encoding is identity or absent.", ex.Status.Detail);
    }

    [Fact]
    public void Deserialize_UncompressedFrameOnGzipCall_ParsesPlainBody()
    {
        var message = new EchoRequest { ResponseCount = 4 };

        var read = MessageSerializer.Deserialize(EchoRequest.Parser, Sequence(message.ToByteArray()), compressed: false, "gzip", Max);

        Assert.Equal(message, read);
    }

    public static TheoryData<byte[]> CorruptGzip()
    {
        var valid = GrpcWire.Gzip(EchoService.Pattern(5000).ToByteArray());
        var badMagic = valid.ToArray();
        badMagic[0] = 0x00;
        var badMethod = valid.ToArray();
        badMethod[2] = 0x07;
        var badChecksum = valid.ToArray();
        badChecksum[^8] ^= 0xFF;
        return new TheoryData<byte[]>
        {
            Encoding.ASCII.GetBytes("this is not gzip at all"),
            badMagic,
            badMethod,
            badChecksum,
        };
    }

    [Theory]
    [MemberData(nameof(CorruptGzip))]
    public void Decompress_CorruptGzip_Internal(byte[] compressed)
    {
        var ex = Assert.Throws<RpcException>(() => MessageCompression.Decompress(Sequence(compressed), Max, out _));

        Assert.Equal(StatusCode.Internal, ex.StatusCode);
        Assert.StartsWith("Failed to decompress a gzip message: ", ex.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Decompress_GzipBombPastTheLimit_ResourceExhausted()
    {
        const int limit = 64 * 1024;
        var bomb = GzipSmallest(new byte[16 * 1024 * 1024]);
        Assert.True(bomb.Length < limit, $"The bomb is {bomb.Length} bytes compressed.");

        var ex = Assert.Throws<RpcException>(() => MessageCompression.Decompress(Sequence(bomb), limit, out _));

        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
        Assert.StartsWith("Received message larger than max (", ex.Status.Detail, StringComparison.Ordinal);
        Assert.EndsWith($" vs. {limit})", ex.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Deserialize_GzipBombInAFrameUnderTheLimit_ResourceExhausted()
    {
        const int limit = 64 * 1024;
        var message = new EchoRequest { Payload = ByteString.CopyFrom(new byte[1024 * 1024]) };
        using var frame = MessageSerializer.SerializeFrame(message, compress: true);
        var buffer = new ReadOnlySequence<byte>(frame.Memory);
        Assert.True(MessageFraming.TryReadFrame(ref buffer, limit, out var compressed, out var body));

        var ex = Assert.Throws<RpcException>(() => MessageSerializer.Deserialize(EchoRequest.Parser, body, compressed, "gzip", limit));

        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
    }

    [Theory]
    [InlineData(1000)]
    [InlineData(4096)]
    [InlineData(65_536)]
    public void Decompress_InflatedSizeAtLimit_Succeeds(int limit)
    {
        var data = EchoService.Pattern(limit).ToByteArray();

        var buffer = MessageCompression.Decompress(Sequence(GrpcWire.Gzip(data)), limit, out var length);
        try
        {
            Assert.Equal(data, buffer.AsSpan(0, length).ToArray());
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    [Theory]
    [InlineData(1000)]
    [InlineData(4096)]
    [InlineData(65_536)]
    public void Decompress_InflatedSizeOneOverLimit_ResourceExhaustedWithExactSizes(int limit)
    {
        var data = EchoService.Pattern(limit + 1).ToByteArray();

        var ex = Assert.Throws<RpcException>(() => MessageCompression.Decompress(Sequence(GrpcWire.Gzip(data)), limit, out _));

        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
        Assert.Equal($"Received message larger than max ({limit + 1} vs. {limit})", ex.Status.Detail);
    }

    [Fact]
    public void Decompress_NoLimit_Inflates()
    {
        var data = EchoService.Pattern(100_000).ToByteArray();

        var buffer = MessageCompression.Decompress(Sequence(GrpcWire.Gzip(data)), int.MaxValue, out var length);
        try
        {
            Assert.Equal(data, buffer.AsSpan(0, length).ToArray());
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    [Fact]
    public void Decompress_OneBytePerSegment_Inflates()
    {
        var data = EchoService.Pattern(3000).ToByteArray();

        var buffer = MessageCompression.Decompress(Segments.OneBytePerSegment(GrpcWire.Gzip(data)), Max, out var length);
        try
        {
            Assert.Equal(data, buffer.AsSpan(0, length).ToArray());
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    [Theory]
    [InlineData(null, true)]
    [InlineData("", true)]
    [InlineData("identity", true)]
    [InlineData("IDENTITY", true)]
    [InlineData("gzip", true)]
    [InlineData("Gzip", true)]
    [InlineData("deflate", false)]
    [InlineData("snappy", false)]
    [InlineData("br", false)]
    [InlineData("gzip,identity", false)]
    [InlineData(" gzip", false)]
    public void IsSupported_Encoding_OnlyIdentityAndGzip(string? encoding, bool supported)
    {
        Assert.Equal(supported, MessageCompression.IsSupported(encoding));
    }

    [Theory]
    [InlineData("gzip", true)]
    [InlineData("identity,gzip", true)]
    [InlineData("identity, gzip", true)]
    [InlineData("deflate , GZIP , identity", true)]
    [InlineData(null, false)]
    [InlineData("", false)]
    [InlineData("identity", false)]
    [InlineData("deflate,identity", false)]
    [InlineData("x-gzip", false)]
    [InlineData("gzipped", false)]
    public void AcceptsGzip_AcceptEncodingList_TrueOnlyWhenGzipIsAnEntry(string? acceptEncoding, bool accepts)
    {
        Assert.Equal(accepts, MessageCompression.AcceptsGzip(acceptEncoding));
    }

    [Fact]
    public void UnsupportedEncoding_Encoding_UnimplementedListingSupported()
    {
        var status = MessageCompression.UnsupportedEncoding("deflate");

        Assert.Equal(StatusCode.Unimplemented, status.Code);
        Assert.Equal("Unsupported grpc-encoding 'deflate'. Supported encodings: identity,gzip.", status.Detail);
    }

    private static ReadOnlySequence<byte> Sequence(byte[] bytes) => new(bytes);

    /// <summary>Deflate at its best ratio (~1000:1 on zeros): a small message that inflates to a huge one.</summary>
    private static byte[] GzipSmallest(byte[] data)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.SmallestSize, leaveOpen: true))
            gzip.Write(data);
        return output.ToArray();
    }

    private static Task<EchoRequest?> ReadAsync(PipeReader reader, string? encoding) =>
        PipeMessageReader.ReadMessageAsync(reader, EchoRequest.Parser, encoding, Max, CancellationToken.None).AsTask();
}
