using System.Buffers;
using System.IO.Compression;

namespace Esp.Grpc.Protocol;

/// <summary>Per-message compression: identity and gzip (grpc/doc/compression.md).</summary>
internal static class MessageCompression
{
    public static bool IsSupported(string? encoding) =>
        encoding is null || encoding.Length == 0
        || string.Equals(encoding, GrpcProtocol.IdentityEncoding, StringComparison.OrdinalIgnoreCase)
        || string.Equals(encoding, GrpcProtocol.GzipEncoding, StringComparison.OrdinalIgnoreCase);

    public static bool IsGzip(string? encoding) =>
        string.Equals(encoding, GrpcProtocol.GzipEncoding, StringComparison.OrdinalIgnoreCase);

    /// <summary>True when a <c>grpc-accept-encoding</c> list names gzip.</summary>
    public static bool AcceptsGzip(string? acceptEncoding)
    {
        if (string.IsNullOrEmpty(acceptEncoding))
            return false;
        foreach (var range in acceptEncoding.AsSpan().Split(','))
        {
            if (acceptEncoding.AsSpan()[range].Trim().Equals(GrpcProtocol.GzipEncoding, StringComparison.OrdinalIgnoreCase))
                return true;
        }
        return false;
    }

    public static Status UnsupportedEncoding(string encoding) =>
        new(StatusCode.Unimplemented,
            $"Unsupported grpc-encoding '{encoding}'. Supported encodings: {GrpcProtocol.SupportedEncodings}.");

    public static readonly Status CompressedWithoutEncodingStatus =
        new(StatusCode.Internal, "A message has the compressed flag set but the call's grpc-encoding is identity or absent.");

    /// <summary>
    /// Inflates a gzip message into a buffer rented from the shared pool (return it with
    /// <see cref="ArrayPool{T}.Return"/>). The inflated size is held to the receive limit, so a
    /// small compressed message cannot expand into an unbounded one.
    /// </summary>
    public static byte[] Decompress(ReadOnlySequence<byte> compressed, int maxMessageSize, out int length)
    {
        using var input = new ReadOnlySequenceStream(compressed);
        using var gzip = new GZipStream(input, CompressionMode.Decompress);
        // One byte past the limit proves a message too large; computed in long so int.MaxValue (no limit) cannot overflow.
        var cap = (int)Math.Min((long)maxMessageSize + 1, Array.MaxLength);
        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(Math.Max(4096, compressed.Length * 4), cap));
        length = 0;
        try
        {
            while (true)
            {
                if (length == buffer.Length)
                {
                    if (buffer.Length >= cap)
                        throw new RpcException(MessageFraming.MessageTooLarge(length, maxMessageSize));
                    var larger = ArrayPool<byte>.Shared.Rent((int)Math.Min(buffer.Length * 2L, cap));
                    buffer.AsSpan(0, length).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }
                var read = gzip.Read(buffer, length, buffer.Length - length);
                if (read == 0)
                    break;
                length += read;
                if (length > maxMessageSize)
                    throw new RpcException(MessageFraming.MessageTooLarge(length, maxMessageSize));
            }
            return buffer;
        }
        catch (InvalidDataException ex)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw new RpcException(new Status(StatusCode.Internal, "Failed to decompress a gzip message: " + ex.Message), new Metadata(), ex);
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }

    public static byte[] Compress(ReadOnlySpan<byte> message)
    {
        using var output = new MemoryStream(message.Length / 2 + 64);
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
            gzip.Write(message);
        return output.ToArray();
    }

    /// <summary>A read-only stream over a <see cref="ReadOnlySequence{T}"/>, for GZipStream.</summary>
    private sealed class ReadOnlySequenceStream(ReadOnlySequence<byte> sequence) : Stream
    {
        private ReadOnlySequence<byte> _remaining = sequence;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var n = (int)Math.Min(buffer.Length, _remaining.Length);
            _remaining.Slice(0, n).CopyTo(buffer);
            _remaining = _remaining.Slice(n);
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
