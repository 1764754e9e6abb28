using System.Buffers;
using Google.Protobuf;

namespace Esp.Grpc.Protocol;

/// <summary>Turns protobuf messages into frames and frames back into messages.</summary>
internal static class MessageSerializer
{
    /// <summary>
    /// Serializes one message as a whole frame (header + body) into a pooled buffer, so it goes out
    /// in a single write. Dispose the result to return the buffer.
    /// </summary>
    public static PooledFrame SerializeFrame(IMessage message, bool compress)
    {
        var size = message.CalculateSize();
        var buffer = ArrayPool<byte>.Shared.Rent(MessageFraming.HeaderSize + size);
        message.WriteTo(buffer.AsSpan(MessageFraming.HeaderSize, size));
        if (!compress)
        {
            MessageFraming.WriteHeader(buffer, compressed: false, size);
            return new PooledFrame(buffer, MessageFraming.HeaderSize + size);
        }

        var compressed = MessageCompression.Compress(buffer.AsSpan(MessageFraming.HeaderSize, size));
        ArrayPool<byte>.Shared.Return(buffer);
        var target = ArrayPool<byte>.Shared.Rent(MessageFraming.HeaderSize + compressed.Length);
        compressed.CopyTo(target.AsSpan(MessageFraming.HeaderSize));
        MessageFraming.WriteHeader(target, compressed: true, compressed.Length);
        return new PooledFrame(target, MessageFraming.HeaderSize + compressed.Length);
    }

    /// <summary>Parses a message body, inflating it first when the frame says it is compressed.</summary>
    public static T Deserialize<T>(MessageParser<T> parser, ReadOnlySequence<byte> body, bool compressed, string? encoding, int maxMessageSize)
        where T : IMessage<T>
    {
        if (!compressed)
            return Parse(parser, body);
        if (!MessageCompression.IsGzip(encoding))
            throw new RpcException(MessageCompression.CompressedWithoutEncodingStatus);

        var inflated = MessageCompression.Decompress(body, maxMessageSize, out var length);
        try
        {
            return Parse(parser, new ReadOnlySequence<byte>(inflated, 0, length));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(inflated);
        }
    }

    private static T Parse<T>(MessageParser<T> parser, ReadOnlySequence<byte> body)
        where T : IMessage<T>
    {
        try
        {
            return parser.ParseFrom(body);
        }
        catch (InvalidProtocolBufferException ex)
        {
            throw new RpcException(new Status(StatusCode.Internal, "Failed to parse a message: " + ex.Message), new Metadata(), ex);
        }
    }
}

/// <summary>A serialized frame in a rented buffer.</summary>
internal readonly struct PooledFrame(byte[] buffer, int length) : IDisposable
{
    public ReadOnlyMemory<byte> Memory => buffer.AsMemory(0, length);

    public void Dispose() => ArrayPool<byte>.Shared.Return(buffer);
}
