using System.Buffers;

namespace Esp.Grpc.Http2;

/// <summary>
/// A header block as it arrives: a HEADERS frame, then CONTINUATION frames on the same stream
/// until END_HEADERS (RFC 9113 §4.3, §6.2, §6.10), its encoded size bounded while it grows. The
/// client's and the server's read loops each keep one.
/// </summary>
/// <param name="maxEncodedSize">The most encoded octets held for one block (more is ENHANCE_YOUR_CALM).</param>
/// <param name="peer">Who sends the frames, for messages: "backend" or "client".</param>
internal sealed class Http2HeaderBlockReader(int maxEncodedSize, string peer)
{
    private readonly ArrayBufferWriter<byte> _block = new();

    /// <summary>The stream of the block in progress, or of the one just completed until <see cref="Complete"/>; 0 when none.</summary>
    public int StreamId { get; private set; }

    /// <summary>Whether the block's HEADERS frame carried END_STREAM.</summary>
    public bool EndsStream { get; private set; }

    /// <summary>The encoded block (HEADERS and CONTINUATION fragments, padding and priority removed).</summary>
    public ReadOnlySpan<byte> Block => _block.WrittenSpan;

    /// <summary>Starts a block with a HEADERS frame; true when that frame completes it (END_HEADERS).</summary>
    public bool OnHeaders(byte flags, int streamId, ReadOnlySequence<byte> payload)
    {
        var fragment = Http2Protocol.StripPadding(flags, payload)
            ?? throw ProtocolError("its padded HEADERS frame's pad length is missing or longer than the frame.");
        if ((flags & Http2Protocol.FlagPriority) != 0)
        {
            if (fragment.Length < 5)
                throw ProtocolError("its HEADERS frame is too short for its priority fields.");
            fragment = fragment.Slice(5);
        }
        _block.ResetWrittenCount();
        StreamId = streamId;
        EndsStream = (flags & Http2Protocol.FlagEndStream) != 0;
        return Append(flags, fragment);
    }

    /// <summary>Continues the block in progress; true when this frame completes it.</summary>
    public bool OnContinuation(byte flags, int streamId, ReadOnlySequence<byte> payload)
    {
        if (StreamId == 0 || streamId != StreamId)
            throw ProtocolError("it sent CONTINUATION without a header block in progress on that stream.");
        return Append(flags, payload);
    }

    /// <summary>Ends the completed block: returns its stream; <see cref="Block"/> stays readable until the next HEADERS.</summary>
    public int Complete()
    {
        var streamId = StreamId;
        StreamId = 0;
        return streamId;
    }

    private bool Append(byte flags, ReadOnlySequence<byte> fragment)
    {
        // The decoder's list limit applies to the decoded size; this bounds the encoded octets held meanwhile.
        if (_block.WrittenCount + fragment.Length > maxEncodedSize)
            throw new Http2ConnectionException($"The {peer} sent a header block over {maxEncodedSize} bytes.", Http2ErrorCode.EnhanceYourCalm);
        foreach (var segment in fragment)
            _block.Write(segment.Span);
        return (flags & Http2Protocol.FlagEndHeaders) != 0;
    }

    private Http2ConnectionException ProtocolError(string what) => new($"The {peer} broke the HTTP/2 protocol: {what}", Http2ErrorCode.ProtocolError);
}
