using System.Buffers;
using System.Buffers.Binary;

namespace Esp.Grpc.Http2;

/// <summary>Encodes HTTP/2 frames (RFC 9113 §6) into a connection's pending output; both our client and our server write through it.</summary>
internal static class Http2FrameWriter
{
    /// <summary>A header block as HEADERS plus as many CONTINUATION frames as <paramref name="maxFrameSize"/> needs.</summary>
    public static void Headers(ArrayBufferWriter<byte> output, int streamId, ReadOnlySpan<byte> block, bool endStream, int maxFrameSize)
    {
        var first = true;
        do
        {
            var size = Math.Min(block.Length, maxFrameSize);
            var last = size == block.Length;
            var flags = (byte)((last ? Http2Protocol.FlagEndHeaders : 0) | (first && endStream ? Http2Protocol.FlagEndStream : 0));
            var span = output.GetSpan(Http2Protocol.FrameHeaderLength + size);
            Http2Protocol.WriteFrameHeader(span, size, first ? Http2FrameType.Headers : Http2FrameType.Continuation, flags, streamId);
            block[..size].CopyTo(span[Http2Protocol.FrameHeaderLength..]);
            output.Advance(Http2Protocol.FrameHeaderLength + size);
            block = block[size..];
            first = false;
        }
        while (!block.IsEmpty);
    }

    /// <summary>One DATA frame; the caller keeps it within the peer's windows and frame size.</summary>
    public static void Data(ArrayBufferWriter<byte> output, int streamId, ReadOnlySequence<byte> data, bool endStream)
    {
        var size = (int)data.Length;
        var span = output.GetSpan(Http2Protocol.FrameHeaderLength + size);
        Http2Protocol.WriteFrameHeader(span, size, Http2FrameType.Data, endStream ? Http2Protocol.FlagEndStream : (byte)0, streamId);
        data.CopyTo(span[Http2Protocol.FrameHeaderLength..]);
        output.Advance(Http2Protocol.FrameHeaderLength + size);
    }

    public static void RstStream(ArrayBufferWriter<byte> output, int streamId, Http2ErrorCode code)
    {
        var span = output.GetSpan(Http2Protocol.FrameHeaderLength + 4);
        Http2Protocol.WriteFrameHeader(span, 4, Http2FrameType.RstStream, 0, streamId);
        BinaryPrimitives.WriteUInt32BigEndian(span[9..], (uint)code);
        output.Advance(Http2Protocol.FrameHeaderLength + 4);
    }

    public static void WindowUpdate(ArrayBufferWriter<byte> output, int streamId, int increment)
    {
        var span = output.GetSpan(Http2Protocol.FrameHeaderLength + 4);
        Http2Protocol.WriteFrameHeader(span, 4, Http2FrameType.WindowUpdate, 0, streamId);
        BinaryPrimitives.WriteUInt32BigEndian(span[9..], (uint)increment);
        output.Advance(Http2Protocol.FrameHeaderLength + 4);
    }

    /// <summary>A frame on stream 0 (SETTINGS, PING, GOAWAY).</summary>
    public static void Control(ArrayBufferWriter<byte> output, Http2FrameType type, byte flags, ReadOnlySpan<byte> payload)
    {
        var span = output.GetSpan(Http2Protocol.FrameHeaderLength + payload.Length);
        Http2Protocol.WriteFrameHeader(span, payload.Length, type, flags, 0);
        payload.CopyTo(span[Http2Protocol.FrameHeaderLength..]);
        output.Advance(Http2Protocol.FrameHeaderLength + payload.Length);
    }

    /// <summary>SETTINGS with the given (identifier, value) pairs.</summary>
    public static void Settings(ArrayBufferWriter<byte> output, ReadOnlySpan<(ushort Id, int Value)> settings)
    {
        var length = settings.Length * 6;
        var span = output.GetSpan(Http2Protocol.FrameHeaderLength + length);
        Http2Protocol.WriteFrameHeader(span, length, Http2FrameType.Settings, 0, 0);
        for (var i = 0; i < settings.Length; i++)
        {
            BinaryPrimitives.WriteUInt16BigEndian(span[(9 + 6 * i)..], settings[i].Id);
            BinaryPrimitives.WriteUInt32BigEndian(span[(11 + 6 * i)..], (uint)settings[i].Value);
        }
        output.Advance(Http2Protocol.FrameHeaderLength + length);
    }

    /// <summary>GOAWAY; <paramref name="debugData"/> tells the peer why (RFC 9113 §6.8: for diagnostics only).</summary>
    public static void GoAway(ArrayBufferWriter<byte> output, int lastStreamId, Http2ErrorCode code, ReadOnlySpan<byte> debugData = default)
    {
        var span = output.GetSpan(Http2Protocol.FrameHeaderLength + 8 + debugData.Length);
        Http2Protocol.WriteFrameHeader(span, 8 + debugData.Length, Http2FrameType.GoAway, 0, 0);
        BinaryPrimitives.WriteUInt32BigEndian(span[9..], (uint)lastStreamId & 0x7fff_ffffu);
        BinaryPrimitives.WriteUInt32BigEndian(span[13..], (uint)code);
        debugData.CopyTo(span[17..]);
        output.Advance(Http2Protocol.FrameHeaderLength + 8 + debugData.Length);
    }
}
