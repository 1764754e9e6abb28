using System.Buffers;
using System.Buffers.Binary;

namespace Esp.Grpc.Http2;

/// <summary>Frame types of RFC 9113 §6.</summary>
internal enum Http2FrameType : byte
{
    Data = 0x0,
    Headers = 0x1,
    Priority = 0x2,
    RstStream = 0x3,
    Settings = 0x4,
    PushPromise = 0x5,
    Ping = 0x6,
    GoAway = 0x7,
    WindowUpdate = 0x8,
    Continuation = 0x9,
}

/// <summary>Error codes of RFC 9113 §7.</summary>
internal enum Http2ErrorCode : uint
{
    NoError = 0x0,
    ProtocolError = 0x1,
    InternalError = 0x2,
    FlowControlError = 0x3,
    SettingsTimeout = 0x4,
    StreamClosed = 0x5,
    FrameSizeError = 0x6,
    RefusedStream = 0x7,
    Cancel = 0x8,
    CompressionError = 0x9,
    ConnectError = 0xa,
    EnhanceYourCalm = 0xb,
    InadequateSecurity = 0xc,
    Http11Required = 0xd,
}

/// <summary>The numbers and layouts of RFC 9113 our client and server need.</summary>
internal static class Http2Protocol
{
    public const int FrameHeaderLength = 9;

    public const byte FlagEndStream = 0x1;
    public const byte FlagAck = 0x1;
    public const byte FlagEndHeaders = 0x4;
    public const byte FlagPadded = 0x8;
    public const byte FlagPriority = 0x20;

    public const ushort SettingHeaderTableSize = 0x1;
    public const ushort SettingEnablePush = 0x2;
    public const ushort SettingMaxConcurrentStreams = 0x3;
    public const ushort SettingInitialWindowSize = 0x4;
    public const ushort SettingMaxFrameSize = 0x5;
    public const ushort SettingMaxHeaderListSize = 0x6;

    public const int DefaultWindowSize = 65_535;
    public const int DefaultMaxFrameSize = 16_384;
    public const int MaxFrameSizeLimit = 16_777_215;
    public const int MaxWindowSize = int.MaxValue;

    /// <summary>The client connection preface (RFC 9113 §3.4).</summary>
    public static ReadOnlySpan<byte> ClientPreface => "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8;

    /// <summary>A padded frame's data without its pad length and padding; null when they do not fit the frame.</summary>
    public static ReadOnlySequence<byte>? StripPadding(byte flags, ReadOnlySequence<byte> payload)
    {
        if ((flags & FlagPadded) == 0)
            return payload;
        if (payload.IsEmpty)
            return null;
        var padLength = payload.FirstSpan[0];
        if (padLength >= payload.Length)
            return null;
        return payload.Slice(1, payload.Length - 1 - padLength);
    }

    public static uint ReadUInt32(ReadOnlySequence<byte> payload)
    {
        Span<byte> bytes = stackalloc byte[4];
        payload.Slice(0, 4).CopyTo(bytes);
        return BinaryPrimitives.ReadUInt32BigEndian(bytes);
    }

    /// <summary>
    /// Splits the next frame off <paramref name="buffer"/> when it is complete. A frame longer than
    /// our SETTINGS_MAX_FRAME_SIZE (the default, 16384) is a connection error (RFC 9113 §4.2).
    /// </summary>
    /// <param name="peer">Who sent it, for the error: "client" or "backend".</param>
    public static bool TryReadFrame(ref ReadOnlySequence<byte> buffer, out Http2FrameType type, out byte flags, out int streamId, out ReadOnlySequence<byte> payload,
        string peer)
    {
        type = default;
        flags = 0;
        streamId = 0;
        payload = default;
        if (buffer.Length < FrameHeaderLength)
            return false;
        Span<byte> header = stackalloc byte[FrameHeaderLength];
        buffer.Slice(0, FrameHeaderLength).CopyTo(header);
        var length = (header[0] << 16) | (header[1] << 8) | header[2];
        if (length > DefaultMaxFrameSize)
            throw new Http2ConnectionException($"The {peer} sent a {length}-byte frame; the limit is {DefaultMaxFrameSize}.", Http2ErrorCode.FrameSizeError);
        if (buffer.Length < FrameHeaderLength + length)
            return false;
        type = (Http2FrameType)header[3];
        flags = header[4];
        streamId = (int)(BinaryPrimitives.ReadUInt32BigEndian(header[5..]) & 0x7fff_ffffu);
        payload = buffer.Slice(FrameHeaderLength, length);
        buffer = buffer.Slice(payload.End);
        return true;
    }

    /// <summary>
    /// A SETTINGS frame's parameters in order (RFC 9113 §6.5), or null for an acknowledgement;
    /// <paramref name="peer"/> ("backend", "client") names the sender in errors.
    /// </summary>
    public static (ushort Id, uint Value)[]? ReadSettings(byte flags, int streamId, ReadOnlySequence<byte> payload, string peer)
    {
        if (streamId != 0)
            throw new Http2ConnectionException($"The {peer} broke the HTTP/2 protocol: it sent SETTINGS on a stream.", Http2ErrorCode.ProtocolError);
        if ((flags & FlagAck) != 0)
        {
            return payload.Length == 0 ? null
                : throw new Http2ConnectionException($"The {peer} sent a SETTINGS acknowledgement with a payload.", Http2ErrorCode.FrameSizeError);
        }
        if (payload.Length % 6 != 0)
            throw new Http2ConnectionException($"The {peer} sent a SETTINGS frame whose size is not a multiple of 6.", Http2ErrorCode.FrameSizeError);
        var settings = new (ushort, uint)[payload.Length / 6];
        Span<byte> setting = stackalloc byte[6];
        for (var i = 0; i < settings.Length; i++)
        {
            payload.Slice(6L * i, 6).CopyTo(setting);
            settings[i] = (BinaryPrimitives.ReadUInt16BigEndian(setting), BinaryPrimitives.ReadUInt32BigEndian(setting[2..]));
        }
        return settings;
    }

    /// <summary>Checks a PING frame (RFC 9113 §6.7): true when it asks for an answer, its 8 octets then in <paramref name="opaque"/>.</summary>
    public static bool ReadPing(byte flags, int streamId, ReadOnlySequence<byte> payload, string peer, Span<byte> opaque)
    {
        if (streamId != 0)
            throw new Http2ConnectionException($"The {peer} broke the HTTP/2 protocol: it sent PING on a stream.", Http2ErrorCode.ProtocolError);
        if (payload.Length != 8)
            throw new Http2ConnectionException($"The {peer} sent a PING frame of the wrong size.", Http2ErrorCode.FrameSizeError);
        if ((flags & FlagAck) != 0)
            return false;
        payload.CopyTo(opaque);
        return true;
    }

    public static void WriteFrameHeader(Span<byte> destination, int length, Http2FrameType type, byte flags, int streamId)
    {
        destination[0] = (byte)(length >> 16);
        destination[1] = (byte)(length >> 8);
        destination[2] = (byte)length;
        destination[3] = (byte)type;
        destination[4] = flags;
        BinaryPrimitives.WriteUInt32BigEndian(destination[5..], (uint)streamId & 0x7fff_ffffu);
    }
}

/// <summary>
/// The backend reset one stream (RST_STREAM), or the stream could not be run on its connection
/// (refused by GOAWAY). The connection itself may be fine.
/// </summary>
internal sealed class Http2StreamException(Http2ErrorCode code, string message) : Exception(message)
{
    public Http2ErrorCode ErrorCode { get; } = code;
}

/// <summary>The connection failed: the peer broke the protocol, closed it, or the transport failed.</summary>
internal sealed class Http2ConnectionException : IOException
{
    public Http2ConnectionException(string message, Http2ErrorCode code = Http2ErrorCode.NoError, Exception? inner = null)
        : base(message, inner)
    {
        ErrorCode = code;
    }

    public Http2ErrorCode ErrorCode { get; }
}

/// <summary>
/// When a client connection pings a quiet backend: after <paramref name="Delay"/> without a frame
/// while calls are in flight; the connection fails if nothing arrives within <paramref name="Timeout"/>
/// after that. A zero timeout turns pinging off (and closing idle connections, which the same
/// timer checks).
/// </summary>
/// <param name="IdleTimeout">
/// A connection without calls for this long is closed (GOAWAY, then the socket); zero keeps it.
/// NATs and load balancers drop idle TCP connections silently after a few minutes (AWS NLB
/// 350 s, Azure 240 s): a call sent on such a connection would hang until the keep-alive found
/// it dead, so connections are closed before that and the next call opens a fresh one.
/// </param>
internal sealed record Http2KeepAlive(TimeSpan Delay, TimeSpan Timeout, TimeProvider Time, TimeSpan IdleTimeout = default)
{
    public static Http2KeepAlive Default { get; } = new(TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(20), TimeProvider.System, TimeSpan.FromMinutes(2));
}
