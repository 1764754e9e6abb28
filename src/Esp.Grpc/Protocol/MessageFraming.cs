using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;

namespace Esp.Grpc.Protocol;

/// <summary>
/// The length-prefixed message: a compressed flag (1 byte, 0 or 1), the length (4 bytes, big
/// endian), then the message. DATA frame boundaries are unrelated to message boundaries.
/// </summary>
internal static class MessageFraming
{
    public const int HeaderSize = 5;

    public static readonly Status IncompleteMessageStatus =
        new(StatusCode.Internal, "Incomplete message: the stream ended inside a message frame.");

    /// <summary>
    /// Slices one whole message off <paramref name="buffer"/> without copying. False when more
    /// bytes are needed. The length is checked against the limit before any body is awaited.
    /// </summary>
    /// <exception cref="RpcException">A flag other than 0/1 (INTERNAL), or a message over the limit (RESOURCE_EXHAUSTED).</exception>
    public static bool TryReadFrame(ref ReadOnlySequence<byte> buffer, int maxMessageSize, out bool compressed, out ReadOnlySequence<byte> message)
    {
        message = default;
        compressed = false;
        if (buffer.Length < HeaderSize)
            return false;

        Span<byte> header = stackalloc byte[HeaderSize];
        if (buffer.FirstSpan.Length >= HeaderSize)
            buffer.FirstSpan[..HeaderSize].CopyTo(header);
        else
            buffer.Slice(0, HeaderSize).CopyTo(header);

        compressed = header[0] switch
        {
            0 => false,
            1 => true,
            var flag => throw new RpcException(new Status(StatusCode.Internal,
                string.Create(CultureInfo.InvariantCulture, $"Invalid compressed flag {flag} in a message header: it must be 0 or 1."))),
        };
        var length = BinaryPrimitives.ReadUInt32BigEndian(header[1..]);
        if (length > (uint)maxMessageSize)
            throw new RpcException(MessageTooLarge(length, maxMessageSize));
        if (buffer.Length < HeaderSize + length)
            return false;

        message = buffer.Slice(HeaderSize, length);
        buffer = buffer.Slice(message.End);
        return true;
    }

    public static void WriteHeader(Span<byte> destination, bool compressed, int length)
    {
        destination[0] = compressed ? (byte)1 : (byte)0;
        BinaryPrimitives.WriteUInt32BigEndian(destination[1..], (uint)length);
    }

    /// <summary>The wording gRPC's C core uses, so operators recognise it.</summary>
    public static Status MessageTooLarge(long length, int maxMessageSize) =>
        new(StatusCode.ResourceExhausted,
            string.Create(CultureInfo.InvariantCulture, $"Received message larger than max ({length} vs. {maxMessageSize})"));
}
