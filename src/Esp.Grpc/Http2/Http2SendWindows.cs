using System.Buffers;

namespace Esp.Grpc.Http2;

/// <summary>A stream's side of send flow control, as the read loop adjusts it (under the connection's lock).</summary>
internal interface IHttp2SendWindow
{
    /// <summary>What may still be sent on the stream (the peer's window; negative after a smaller SETTINGS_INITIAL_WINDOW_SIZE).</summary>
    long SendWindow { get; set; }

    /// <summary>A writer waits for window: wake it when the window grows.</summary>
    bool WaitingForWindow { get; set; }
}

/// <summary>Send flow control as the peer moves it (RFC 9113 §6.9), the same for our client and our server.</summary>
internal static class Http2SendWindows
{
    /// <summary>A WINDOW_UPDATE's increment; a frame of the wrong size is a connection error.</summary>
    public static int ReadIncrement(ReadOnlySequence<byte> payload, string peer)
    {
        if (payload.Length != 4)
            throw new Http2ConnectionException($"The {peer} sent a WINDOW_UPDATE frame of the wrong size.", Http2ErrorCode.FrameSizeError);
        return (int)(Http2Protocol.ReadUInt32(payload) & 0x7fff_ffffu);
    }

    /// <summary>A connection WINDOW_UPDATE: the connection's window grows, and every waiting writer is queued to wake.</summary>
    public static void CreditConnection<TStream>(int increment, ref long window, Dictionary<int, TStream> streams, List<TStream> toWake, string peer)
        where TStream : IHttp2SendWindow
    {
        if (increment == 0)
            throw new Http2ConnectionException($"The {peer} broke the HTTP/2 protocol: it sent a connection WINDOW_UPDATE of 0.", Http2ErrorCode.ProtocolError);
        window += increment;
        if (window > Http2Protocol.MaxWindowSize)
            throw new Http2ConnectionException($"The {peer} overflowed the connection's send window.", Http2ErrorCode.FlowControlError);
        foreach (var stream in streams.Values)
            WakeIfWaiting(stream, toWake);
    }

    /// <summary>
    /// A stream WINDOW_UPDATE: the stream's window grows and its writer is queued to wake. An
    /// increment of 0 or an overflow is a stream error (RFC 9113 §6.9, §6.9.1): returned, for the
    /// caller to reset the stream with.
    /// </summary>
    public static (Http2ErrorCode Code, string Reason)? CreditStream<TStream>(TStream stream, int streamId, int increment, List<TStream> toWake, string peer)
        where TStream : IHttp2SendWindow
    {
        if (increment == 0)
            return (Http2ErrorCode.ProtocolError, $"The {peer} sent a WINDOW_UPDATE of 0 on stream {streamId}.");
        stream.SendWindow += increment;
        if (stream.SendWindow > Http2Protocol.MaxWindowSize)
            return (Http2ErrorCode.FlowControlError, $"The {peer} overflowed the send window of stream {streamId}.");
        WakeIfWaiting(stream, toWake);
        return null;
    }

    /// <summary>
    /// A new SETTINGS_INITIAL_WINDOW_SIZE: every open stream's window moves by the difference
    /// (RFC 9113 §6.9.2), and writers are queued to wake when it grew.
    /// </summary>
    public static void ApplyInitialWindowSize<TStream>(uint value, ref int initialWindow, Dictionary<int, TStream> streams, List<TStream> toWake, string peer)
        where TStream : IHttp2SendWindow
    {
        if (value > Http2Protocol.MaxWindowSize)
            throw new Http2ConnectionException($"The {peer} sent SETTINGS_INITIAL_WINDOW_SIZE {value}, over 2^31-1.", Http2ErrorCode.FlowControlError);
        var delta = (int)value - initialWindow;
        initialWindow = (int)value;
        foreach (var stream in streams.Values)
        {
            stream.SendWindow += delta;
            if (stream.SendWindow > Http2Protocol.MaxWindowSize)
                throw new Http2ConnectionException($"The {peer}'s SETTINGS_INITIAL_WINDOW_SIZE overflowed a stream's window.", Http2ErrorCode.FlowControlError);
            if (delta > 0)
                WakeIfWaiting(stream, toWake);
        }
    }

    /// <summary>SETTINGS_MAX_FRAME_SIZE, checked (RFC 9113 §6.5.2).</summary>
    public static int CheckMaxFrameSize(uint value, string peer) =>
        value is < Http2Protocol.DefaultMaxFrameSize or > Http2Protocol.MaxFrameSizeLimit
            ? throw new Http2ConnectionException($"The {peer} broke the HTTP/2 protocol: it sent SETTINGS_MAX_FRAME_SIZE {value}, outside 16384-16777215.", Http2ErrorCode.ProtocolError)
            : (int)value;

    public static void WakeIfWaiting<TStream>(TStream stream, List<TStream> toWake)
        where TStream : IHttp2SendWindow
    {
        if (!stream.WaitingForWindow)
            return;
        stream.WaitingForWindow = false;
        toWake.Add(stream);
    }
}
