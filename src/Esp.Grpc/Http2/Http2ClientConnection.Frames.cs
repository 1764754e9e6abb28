using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Esp.Grpc.Http2.Hpack;
using Esp.Grpc.Protocol;

namespace Esp.Grpc.Http2;

/// <summary>The connection's read side: the read loop and what each frame from the backend does.</summary>
internal sealed partial class Http2ClientConnection
{
    private async Task ReadLoopAsync()
    {
        var reader = PipeReader.Create(_transport, new StreamPipeReaderOptions(bufferSize: 64 * 1024, minimumReadSize: 4096, leaveOpen: true));
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync();
                var buffer = result.Buffer;
                bool send, drained;
                lock (SyncRoot)
                {
                    _receivedSinceTick = true;
                    while (Http2Protocol.TryReadFrame(ref buffer, out var type, out var flags, out var streamId, out var payload, "backend"))
                        ProcessFrame(type, flags, streamId, payload);
                    DisarmTouchedLocked();
                    send = _output.ClaimSendLocked();
                    drained = IsDrainedLocked();
                }
                reader.AdvanceTo(buffer.Start, buffer.End);
                if (send)
                    _output.StartSend();
                CompleteDisarmed();
                if (drained)
                    FailDrained();
                if (result.IsCompleted)
                {
                    throw new Http2ConnectionException(buffer.IsEmpty
                        ? "The backend closed the connection."
                        : "The backend closed the connection in the middle of a frame.");
                }
            }
        }
        catch (Exception ex)
        {
            var failure = ex as Http2ConnectionException ?? new Http2ConnectionException($"Reading from the backend failed: {ex.Message}", inner: ex);
            if (failure.ErrorCode != Http2ErrorCode.NoError)
            {
                // Our side found the protocol broken: say so before closing.
                lock (SyncRoot)
                    WriteGoAway(failure.ErrorCode);
                await FlushBeforeCloseAsync();
            }
            Fail(failure);
            lock (SyncRoot)
                DisarmTouchedLocked();
            CompleteDisarmed();
        }
        finally
        {
            await reader.CompleteAsync();
        }
    }

    private void ProcessFrame(Http2FrameType type, byte flags, int streamId, ReadOnlySequence<byte> payload)
    {
        if (_headerBlock.StreamId != 0 && type != Http2FrameType.Continuation)
            throw ProtocolError($"a {type} frame came in the middle of a header block.");
        switch (type)
        {
            case Http2FrameType.Data:
                OnData(flags, streamId, payload);
                break;
            case Http2FrameType.Headers:
                OnHeaders(flags, streamId, payload);
                break;
            case Http2FrameType.Continuation:
                OnContinuation(flags, streamId, payload);
                break;
            case Http2FrameType.RstStream:
                OnRstStream(streamId, payload);
                break;
            case Http2FrameType.Settings:
                OnSettings(flags, streamId, payload);
                break;
            case Http2FrameType.Ping:
                OnPing(flags, streamId, payload);
                break;
            case Http2FrameType.GoAway:
                OnGoAway(streamId, payload);
                break;
            case Http2FrameType.WindowUpdate:
                OnWindowUpdate(streamId, payload);
                break;
            case Http2FrameType.PushPromise:
                throw ProtocolError("it sent PUSH_PROMISE although push is disabled.");
            case Http2FrameType.Priority:
                OnPriority(streamId, payload);
                break;
            default:
                break; // Unknown frame types are ignored (RFC 9113 §4.1).
        }
    }

    private void OnData(byte flags, int streamId, ReadOnlySequence<byte> payload)
    {
        if (streamId == 0)
            throw ProtocolError("it sent DATA on stream 0.");
        var data = StripPadding(flags, payload, "DATA");
        var flowControlled = (int)payload.Length;
        _connectionReceiveCredit += flowControlled;
        if (_connectionReceiveCredit >= ConnectionReceiveWindow / 4)
        {
            WriteWindowUpdate(0, _connectionReceiveCredit);
            _connectionReceiveCredit = 0;
        }
        if (!_streams.TryGetValue(streamId, out var stream))
        {
            CheckKnown(streamId, "DATA");
            return; // A stream we reset or closed: its data is dropped (the connection window was credited above).
        }
        if (!stream.HeadersReceived || stream.ResponseEnded)
        {
            ResetFromReadLoop(stream, stream.HeadersReceived ? Http2ErrorCode.StreamClosed : Http2ErrorCode.ProtocolError, $"The backend sent DATA on stream {streamId} {(stream.HeadersReceived ? "after ending it" : "before its headers")}.");
            return;
        }
        stream.ReceiveWindow -= flowControlled;
        if (stream.ReceiveWindow < 0)
        {
            ResetFromReadLoop(stream, Http2ErrorCode.FlowControlError, $"The backend overran the flow-control window of stream {streamId}.");
            return;
        }
        stream.OnData(data);
        if (flowControlled > data.Length)
            stream.CreditPadding(flowControlled - (int)data.Length);
        if ((flags & Http2Protocol.FlagEndStream) != 0)
            stream.OnEndStream();
        Touch(stream);
        if (stream.IsClosed)
            _streams.Remove(streamId);
    }

    private void OnHeaders(byte flags, int streamId, ReadOnlySequence<byte> payload)
    {
        if (streamId == 0)
            throw ProtocolError("it sent HEADERS on stream 0.");
        if (_headerBlock.OnHeaders(flags, streamId, payload))
            EndHeaderBlock();
    }

    private void OnContinuation(byte flags, int streamId, ReadOnlySequence<byte> payload)
    {
        if (_headerBlock.OnContinuation(flags, streamId, payload))
            EndHeaderBlock();
    }

    private void EndHeaderBlock()
    {
        var streamId = _headerBlock.Complete();
        var collector = _headerCollector;
        collector.Reset();
        bool withinLimit;
        try
        {
            // Always decoded, even for a stream we no longer track: the table must stay in step.
            withinLimit = _decoder.Decode(_headerBlock.Block, collector);
        }
        catch (HpackException ex)
        {
            throw new Http2ConnectionException($"The backend's header block could not be decoded: {ex.Message}", Http2ErrorCode.CompressionError, ex);
        }
        if (!_streams.TryGetValue(streamId, out var stream))
        {
            CheckKnown(streamId, "HEADERS");
            return;
        }
        if (!withinLimit)
        {
            ResetFromReadLoop(stream, Http2ErrorCode.ProtocolError, $"The backend's headers on stream {streamId} exceed {MaxHeaderListSize} bytes.");
            return;
        }
        if (collector.Error is { } error)
        {
            ResetFromReadLoop(stream, Http2ErrorCode.ProtocolError, $"The backend sent malformed headers on stream {streamId}: {error}");
            return;
        }
        if (stream.ResponseEnded)
        {
            ResetFromReadLoop(stream, Http2ErrorCode.StreamClosed, $"The backend sent HEADERS on stream {streamId} after ending it.");
            return;
        }
        if (!stream.HeadersReceived)
        {
            if (collector.Status is not { } status)
            {
                ResetFromReadLoop(stream, Http2ErrorCode.ProtocolError, $"The backend's response on stream {streamId} has no :status.");
                return;
            }
            if (status is >= 100 and < 200)
            {
                if (_headerBlock.EndsStream)
                    ResetFromReadLoop(stream, Http2ErrorCode.ProtocolError, $"The backend ended stream {streamId} with an informational response.");
                return; // 1xx: the final response follows.
            }
            stream.OnHeaders(status, collector.TakeFields(), _headerBlock.EndsStream);
        }
        else
        {
            if (!_headerBlock.EndsStream || collector.Status is not null)
            {
                ResetFromReadLoop(stream, Http2ErrorCode.ProtocolError, $"The backend sent a second header block on stream {streamId} that is not trailers.");
                return;
            }
            stream.OnTrailers(collector.TakeFields());
        }
        Touch(stream);
        if (stream.IsClosed)
            _streams.Remove(streamId);
    }

    private void OnRstStream(int streamId, ReadOnlySequence<byte> payload)
    {
        if (streamId == 0)
            throw ProtocolError("it sent RST_STREAM on stream 0.");
        if (payload.Length != 4)
            throw new Http2ConnectionException("The backend sent an RST_STREAM frame of the wrong size.", Http2ErrorCode.FrameSizeError);
        var code = (Http2ErrorCode)ReadUInt32(payload);
        if (!_streams.Remove(streamId, out var stream))
        {
            CheckKnown(streamId, "RST_STREAM");
            return;
        }
        if (stream.ResponseEnded && code == Http2ErrorCode.NoError)
        {
            // The response is complete; the server only stops reading our request (RFC 9113 §8.1).
            stream.RequestDiscarded = true;
            stream.RequestEnded = true;
            Touch(stream);
            return;
        }
        stream.Fail(new Http2StreamException(code, $"The backend reset the stream ({HttpStatusMapping.Http2ErrorName((long)code)})."));
        Touch(stream);
    }

    private void OnSettings(byte flags, int streamId, ReadOnlySequence<byte> payload)
    {
        if (Http2Protocol.ReadSettings(flags, streamId, payload, "backend") is not { } settings)
            return; // an acknowledgement
        foreach (var (id, value) in settings)
        {
            switch (id)
            {
                case Http2Protocol.SettingHeaderTableSize:
                    _encoder.SetPeerMaxTableSize((int)Math.Min(value, int.MaxValue));
                    break;
                case Http2Protocol.SettingEnablePush:
                    if (value != 0)
                        throw ProtocolError($"it sent SETTINGS_ENABLE_PUSH {value}; a server may only send 0 (RFC 9113 §6.5.2).");
                    break;
                case Http2Protocol.SettingMaxConcurrentStreams:
                    _peerMaxConcurrentStreams = (int)Math.Min(value, int.MaxValue);
                    break;
                case Http2Protocol.SettingInitialWindowSize:
                    Http2SendWindows.ApplyInitialWindowSize(value, ref _peerInitialWindow, _streams, _touched, "backend");
                    break;
                case Http2Protocol.SettingMaxFrameSize:
                    _peerMaxFrameSize = Http2SendWindows.CheckMaxFrameSize(value, "backend");
                    break;
                default:
                    break; // Unknown settings are ignored (RFC 9113 §6.5.2).
            }
        }
        WriteControlFrame(Http2FrameType.Settings, Http2Protocol.FlagAck, []);
    }

    private void OnPing(byte flags, int streamId, ReadOnlySequence<byte> payload)
    {
        Span<byte> opaque = stackalloc byte[8];
        if (!Http2Protocol.ReadPing(flags, streamId, payload, "backend", opaque))
            return;
        WriteControlFrame(Http2FrameType.Ping, Http2Protocol.FlagAck, opaque);
    }

    private void OnGoAway(int streamId, ReadOnlySequence<byte> payload)
    {
        if (streamId != 0)
            throw ProtocolError("it sent GOAWAY on a stream.");
        if (payload.Length < 8)
            throw new Http2ConnectionException("The backend sent a GOAWAY frame that is too short.", Http2ErrorCode.FrameSizeError);
        var lastStreamId = (int)(ReadUInt32(payload) & 0x7fff_ffffu);
        var code = (Http2ErrorCode)ReadUInt32(payload.Slice(4));
        _draining = true;
        List<int>? refused = null;
        foreach (var stream in _streams.Values)
        {
            if (stream.Id > lastStreamId)
            {
                // Never processed (RFC 9113 §6.8): safe for the caller to try again elsewhere.
                stream.Fail(new Http2StreamException(Http2ErrorCode.RefusedStream,
                    $"The backend is shutting down (GOAWAY {HttpStatusMapping.Http2ErrorName((long)code)}) and did not process the stream."));
                Touch(stream);
                (refused ??= []).Add(stream.Id);
            }
        }
        if (refused is not null)
        {
            foreach (var id in refused)
                _streams.Remove(id);
        }
    }

    /// <summary>Priorities are ignored (RFC 9113 deprecates them), but a malformed frame is still an error.</summary>
    private void OnPriority(int streamId, ReadOnlySequence<byte> payload)
    {
        if (streamId == 0)
            throw ProtocolError("it sent PRIORITY on stream 0.");
        if (payload.Length != 5 && _streams.TryGetValue(streamId, out var stream))
            ResetFromReadLoop(stream, Http2ErrorCode.FrameSizeError, $"The backend sent a PRIORITY frame of the wrong size on stream {streamId}.");
    }

    private void OnWindowUpdate(int streamId, ReadOnlySequence<byte> payload)
    {
        var increment = Http2SendWindows.ReadIncrement(payload, "backend");
        if (streamId == 0)
        {
            Http2SendWindows.CreditConnection(increment, ref _connectionSendWindow, _streams, _touched, "backend");
            return;
        }
        if (!_streams.TryGetValue(streamId, out var stream))
        {
            CheckKnown(streamId, "WINDOW_UPDATE");
            return;
        }
        if (Http2SendWindows.CreditStream(stream, streamId, increment, _touched, "backend") is { } error)
            ResetFromReadLoop(stream, error.Code, error.Reason);
    }

    private static ReadOnlySequence<byte> StripPadding(byte flags, ReadOnlySequence<byte> payload, string frame) =>
        Http2Protocol.StripPadding(flags, payload) ?? throw ProtocolError($"its padded {frame} frame's pad length is missing or longer than the frame.");

    /// <summary>A frame for a stream we do not track: fine if we closed it; an error if it was never opened.</summary>
    private void CheckKnown(int streamId, string frame)
    {
        if (streamId >= _nextStreamId || (streamId & 1) == 0)
            throw ProtocolError($"it sent {frame} on stream {streamId}, which was never opened.");
    }

    private void ResetFromReadLoop(Http2ClientStream stream, Http2ErrorCode code, string message)
    {
        stream.Fail(new Http2StreamException(code, message));
        if (_streams.Remove(stream.Id))
            WriteRstStream(stream.Id, code);
        Touch(stream);
    }

    private void Touch(Http2ClientStream stream) => _touched.Add(stream);

    /// <summary>
    /// The read's touched streams' waits, disarmed under the read's own lock (no lock per stream to
    /// wake it). <c>_touched</c> and <c>_disarmed</c> are the read loop's alone.
    /// </summary>
    private void DisarmTouchedLocked()
    {
        for (var i = 0; i < _touched.Count; i++)
            _touched[i].DisarmWaitsLocked(_disarmed);
        _touched.Clear();
    }

    /// <summary>Resumes the waits <see cref="DisarmTouchedLocked"/> collected: outside the lock, as they run inline.</summary>
    private void CompleteDisarmed()
    {
        for (var i = 0; i < _disarmed.Count; i++)
            _disarmed[i].Complete();
        _disarmed.Clear();
    }

    private static uint ReadUInt32(ReadOnlySequence<byte> payload) => Http2Protocol.ReadUInt32(payload);

    private static Http2ConnectionException ProtocolError(string what) =>
        new($"The backend broke the HTTP/2 protocol: {what}", Http2ErrorCode.ProtocolError);

    /// <summary>
    /// Collects a decoded header block: <c>:status</c> apart, regular fields as strings (a value the
    /// backend repeats, such as its <c>date</c>, as the same string: the server's encoder then
    /// indexes it again by instance). One per connection, reset for each block (the read loop
    /// decodes one at a time); a stream gets its fields as an array of their number.
    /// </summary>
    private sealed class HeaderCollector(RememberedValues remembered) : IHpackHeaderHandler
    {
        private readonly List<KeyValuePair<string, string>> _fields = [];

        public int? Status { get; private set; }

        public string? Error { get; private set; }

        public void Reset()
        {
            _fields.Clear();
            Status = null;
            Error = null;
        }

        public KeyValuePair<string, string>[] TakeFields()
        {
            var fields = _fields.Count == 0 ? [] : _fields.ToArray();
            _fields.Clear();
            return fields;
        }

        public void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
        {
            if (Error is not null)
                return;
            if (HeaderFieldRules.Malformed(name, value) is { } malformed)
            {
                Error = malformed;
                return;
            }
            if (name[0] == (byte)':')
            {
                if (!name.SequenceEqual(":status"u8) || _fields.Count > 0 || Status is not null)
                {
                    Error = $"unexpected pseudo-header {Encoding.Latin1.GetString(name)}";
                    return;
                }
                if (value.Length != 3 || !int.TryParse(value, out var status))
                {
                    Error = "a :status that is not three digits";
                    return;
                }
                Status = status;
                return;
            }
            _fields.Add(new(KnownHeaders.Name(name), remembered.Text(value)));
        }
    }
}
