using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using System.Text;
using Esp.Grpc.Http2.Hpack;
using Esp.Grpc.Protocol;
using Microsoft.AspNetCore.Http;

namespace Esp.Grpc.Http2.Server;

/// <summary>The connection's read side: the preface, the read loop and what each frame from the client does.</summary>
internal sealed partial class Http2ServerConnection
{
    private async Task RunAsync()
    {
        var reader = PipeReader.Create(_transport, new StreamPipeReaderOptions(bufferSize: 64 * 1024, minimumReadSize: 4096, leaveOpen: true));
        string reason = "the client closed the connection";
        try
        {
            if (!await ReadPrefaceAsync(reader))
                return;
            // Our SETTINGS after the client's preface (RFC 9113 §3.4 allows either order), so a
            // client that spoke HTTP/1 gets a readable answer with nothing binary before it.
            lock (SyncRoot)
                WriteSettings();
            _output.RequestSend();
            while (true)
            {
                var result = await reader.ReadAsync();
                var buffer = result.Buffer;
                bool send;
                lock (SyncRoot)
                {
                    while (Http2Protocol.TryReadFrame(ref buffer, out var type, out var flags, out var streamId, out var payload, "client"))
                        ProcessFrame(type, flags, streamId, payload);
                    send = _output.ClaimSendLocked();
                }
                reader.AdvanceTo(buffer.Start, buffer.End);
                AfterRead(send);
                if (result.IsCompleted)
                {
                    if (!buffer.IsEmpty)
                        reason = "the client closed the connection in the middle of a frame";
                    break;
                }
            }
        }
        catch (Http2ConnectionException ex)
        {
            reason = ex.Message;
            LogClosed(Logger, Id, ex.Message);
            lock (SyncRoot)
                SendGoAway(ex.ErrorCode, ex.Message);
            AfterRead(sendClaimed: false);
            _output.RequestSend();
            await _output.FlushAndStopAsync();
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or OperationCanceledException)
        {
            reason = ex.Message;
        }
        finally
        {
            await reader.CompleteAsync();
            Abort(reason);
            _closed.TrySetResult();
        }
    }

    private void WriteSettings()
    {
        Http2FrameWriter.Settings(_output.Pending, [
            (Http2Protocol.SettingMaxConcurrentStreams, _options.MaxConcurrentStreams),
            (Http2Protocol.SettingInitialWindowSize, _options.StreamReceiveWindow),
            (Http2Protocol.SettingMaxHeaderListSize, _options.MaxHeaderListSize)]);
        if (_options.ConnectionReceiveWindow > Http2Protocol.DefaultWindowSize)
            Http2FrameWriter.WindowUpdate(_output.Pending, 0, _options.ConnectionReceiveWindow - Http2Protocol.DefaultWindowSize);
    }

    /// <summary>
    /// Reads the client preface. An HTTP/1 request (a client that does not know this port speaks
    /// HTTP/2 only) is answered in HTTP/1.1, so its user sees why; anything else just ends here.
    /// </summary>
    private async Task<bool> ReadPrefaceAsync(PipeReader reader)
    {
        var preface = Http2Protocol.ClientPreface.ToArray();
        while (true)
        {
            var result = await reader.ReadAsync();
            var buffer = result.Buffer;
            var length = (int)Math.Min(buffer.Length, preface.Length);
            var received = buffer.Slice(0, length).ToArray();
            if (!received.AsSpan().SequenceEqual(preface.AsSpan(0, length)))
            {
                var text = Encoding.Latin1.GetString(buffer.Slice(0, Math.Min(buffer.Length, 64)).ToArray());
                if (LooksLikeHttp1(text))
                    await AnswerHttp1Async();
                reader.AdvanceTo(buffer.End);
                LogClosed(Logger, Id, LooksLikeHttp1(text) ? "an HTTP/1 request on the HTTP/2-only port" : "no HTTP/2 client preface");
                return false;
            }
            if (length == preface.Length)
            {
                reader.AdvanceTo(buffer.GetPosition(length));
                return true;
            }
            reader.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted)
                return false;
        }
    }

    /// <summary>A request line's method (upper-case letters, then a space) that is not the HTTP/2 preface's PRI.</summary>
    private static bool LooksLikeHttp1(string start)
    {
        var space = start.IndexOf(' ', StringComparison.Ordinal);
        return space > 0 && !start.AsSpan(0, space).ContainsAnyExceptInRange('A', 'Z') && !start.StartsWith("PRI ", StringComparison.Ordinal);
    }

    private async Task AnswerHttp1Async()
    {
        const string body = "This port speaks HTTP/2 only (gRPC, h2c with prior knowledge). Send HTTP/1.1 requests to the proxy's --http_port listener.\n";
        var response = "HTTP/1.1 505 HTTP Version Not Supported\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n" +
            $"Content-Length: {body.Length}\r\n\r\n{body}";
        lock (SyncRoot)
            _output.Pending.Write(Encoding.ASCII.GetBytes(response));
        await _output.FlushAndStopAsync();
    }

    /// <summary>
    /// After a read's frames: start the new streams' applications, wake writers and aborted
    /// streams, then start the send claimed under the read's lock (queued after the applications,
    /// so that what they answer at once goes out in the same send).
    /// </summary>
    private void AfterRead(bool sendClaimed)
    {
        for (var i = 0; i < _started.Count; i++)
            ThreadPool.UnsafeQueueUserWorkItem(_started[i], preferLocal: false);
        _started.Clear();
        for (var i = 0; i < _toWake.Count; i++)
            _toWake[i].WindowSignal.Wake();
        _toWake.Clear();
        for (var i = 0; i < _toAbort.Count; i++)
            _toAbort[i].Stream.Abort(_toAbort[i].Reason);
        _toAbort.Clear();
        if (sendClaimed)
            _output.StartSend();
    }

    private void ProcessFrame(Http2FrameType type, byte flags, int streamId, ReadOnlySequence<byte> payload)
    {
        if (!_handshakeDone)
        {
            if (type != Http2FrameType.Settings || (flags & Http2Protocol.FlagAck) != 0)
                throw ProtocolError($"its first frame is {type}, not SETTINGS.");
            _handshakeDone = true;
            _timer.Change(_options.IdleTimeout, Timeout.InfiniteTimeSpan);
        }
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
                if (streamId != 0)
                    throw ProtocolError("it sent GOAWAY on a stream.");
                break; // The client opens no more streams; those in flight go on.
            case Http2FrameType.WindowUpdate:
                OnWindowUpdate(streamId, payload);
                break;
            case Http2FrameType.PushPromise:
                throw ProtocolError("a client cannot send PUSH_PROMISE.");
            case Http2FrameType.Priority:
                if (streamId == 0)
                    throw ProtocolError("it sent PRIORITY on stream 0.");
                if (payload.Length != 5)
                    ResetStreamFromReadLoop(streamId, Http2ErrorCode.FrameSizeError);
                break; // Priorities are ignored (RFC 9113 §5.3.2).
            default:
                break; // Unknown frame types are ignored (RFC 9113 §4.1).
        }
    }

    private void OnData(byte flags, int streamId, ReadOnlySequence<byte> payload)
    {
        if (streamId == 0)
            throw ProtocolError("it sent DATA on stream 0.");
        var flowControlled = (int)payload.Length;
        _connectionReceiveWindow -= flowControlled;
        if (_connectionReceiveWindow < 0)
            throw new Http2ConnectionException("The client overran the connection's flow-control window.", Http2ErrorCode.FlowControlError);
        var data = Http2Protocol.StripPadding(flags, payload) ?? throw ProtocolError("its padded DATA frame's pad length is missing or longer than the frame.");
        if (!_streams.TryGetValue(streamId, out var stream) || stream.Aborted)
        {
            if (streamId > _lastClientStreamId)
                throw ProtocolError($"it sent DATA on stream {streamId}, which it never opened.");
            // A stream that is closed (or reset): its data is dropped, the connection window credited.
            CreditConnection(flowControlled);
            if ((flags & Http2Protocol.FlagEndStream) != 0)
                _resetOpenStreams.Remove(streamId);
            return;
        }
        if (stream.RequestEnded)
        {
            CreditConnection(flowControlled);
            ResetStreamFromReadLoop(stream, Http2ErrorCode.StreamClosed, $"The client sent DATA on stream {streamId} after ending it.");
            return;
        }
        stream.ReceiveWindow -= flowControlled;
        if (stream.ReceiveWindow < 0)
        {
            CreditConnection(flowControlled);
            ResetStreamFromReadLoop(stream, Http2ErrorCode.FlowControlError, $"The client overran the flow-control window of stream {streamId}.");
            return;
        }
        // Padding is never read by the application: credit it at once.
        if (flowControlled > data.Length)
        {
            var padding = flowControlled - (int)data.Length;
            CreditConnection(padding);
            stream.UncreditedBytes += padding;
        }
        stream.ReceivedBodyBytes += data.Length;
        var endStream = (flags & Http2Protocol.FlagEndStream) != 0;
        if (stream.DeclaredContentLength is { } declared && (stream.ReceivedBodyBytes > declared || (endStream && stream.ReceivedBodyBytes != declared)))
        {
            ResetStreamFromReadLoop(stream, Http2ErrorCode.ProtocolError, $"The client's body on stream {streamId} does not match its content-length {declared}.");
            return;
        }
        if (!data.IsEmpty)
            stream.OnRequestData(data);
        if (endStream)
            stream.OnRequestEnd();
    }

    /// <summary>Credits octets back to the connection's window (under the lock); true when a WINDOW_UPDATE was queued.</summary>
    private bool CreditConnection(int count)
    {
        _connectionUncredited += count;
        if (_connectionUncredited < _options.ConnectionReceiveWindow / 4)
            return false;
        Http2FrameWriter.WindowUpdate(_output.Pending, 0, _connectionUncredited);
        _connectionReceiveWindow += _connectionUncredited;
        _connectionUncredited = 0;
        return true;
    }

    private void OnHeaders(byte flags, int streamId, ReadOnlySequence<byte> payload)
    {
        if (streamId == 0)
            throw ProtocolError("it sent HEADERS on stream 0.");
        if ((streamId & 1) == 0)
            throw ProtocolError($"it opened stream {streamId}; client streams are odd.");
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
        if (_streams.TryGetValue(streamId, out var existing))
        {
            OnTrailers(existing);
            return;
        }
        var request = new RequestHeaders(_rememberedValues);
        bool withinLimit;
        try
        {
            // Always decoded, even for a stream we refuse: the table must stay in step.
            withinLimit = _decoder.Decode(_headerBlock.Block, request);
        }
        catch (HpackException ex)
        {
            throw new Http2ConnectionException($"The client's header block could not be decoded: {ex.Message}", Http2ErrorCode.CompressionError, ex);
        }
        if (streamId <= _lastClientStreamId)
        {
            // Trailers racing our reset of the stream are ignored (RFC 9113 §5.1); any other reuse
            // of a stream id, or a new stream below the last one, is an error (§5.1.1).
            if (_headerBlock.EndsStream ? _resetOpenStreams.Remove(streamId) : _resetOpenStreams.Contains(streamId))
                return;
            throw ProtocolError($"it sent HEADERS on stream {streamId}, not above its last stream {_lastClientStreamId}.");
        }
        _lastClientStreamId = streamId;
        if (_goAwaySent)
        {
            RefuseStream(streamId, Http2ErrorCode.RefusedStream);
            return;
        }
        if (!withinLimit)
        {
            // RFC 9113 §8.2.2 / RFC 6585: an answer the client can read, not a reset.
            Http2FrameWriter.Headers(_output.Pending, streamId, HeadersTooLargeBlock, endStream: true, _peerMaxFrameSize);
            if (!_headerBlock.EndsStream)
                RefuseStream(streamId, Http2ErrorCode.NoError);
            return;
        }
        if (request.Complete(_headerBlock.EndsStream) is { } malformed)
        {
            LogMalformed(Logger, Id, streamId, malformed);
            RefuseStream(streamId, Http2ErrorCode.ProtocolError);
            return;
        }
        if (_streams.Count >= _options.MaxConcurrentStreams)
        {
            if (++_refusedStreams > 10 * _options.MaxConcurrentStreams)
                throw new Http2ConnectionException($"The client kept opening streams over its limit of {_options.MaxConcurrentStreams}.", Http2ErrorCode.EnhanceYourCalm);
            RefuseStream(streamId, Http2ErrorCode.RefusedStream);
            return;
        }
        var stream = new Http2ServerStream(this, streamId, request, _application, _peerInitialWindow, _options.StreamReceiveWindow,
            _spareRequestBodies.TryPop(out var body) ? body : null, _spareResponseBuffers.TryPop(out var buffer) ? buffer : null);
        _streams.Add(streamId, stream);
        if (_headerBlock.EndsStream)
            stream.OnRequestEnd();
        _started.Add(stream);
    }

    /// <summary>RST_STREAM for a stream the application never sees; what the client still sends on it is ignored.</summary>
    private void RefuseStream(int streamId, Http2ErrorCode code)
    {
        Http2FrameWriter.RstStream(_output.Pending, streamId, code);
        if (!_headerBlock.EndsStream)
            RememberReset(streamId);
    }

    /// <summary>
    /// The 431 answer to a request whose headers are over the limit: `:status: 431` as a literal
    /// without indexing (static name index 8), so it leaves our encoder's table untouched.
    /// </summary>
    private static readonly byte[] HeadersTooLargeBlock = [0x08, 0x03, (byte)'4', (byte)'3', (byte)'1'];

    private void OnTrailers(Http2ServerStream stream)
    {
        var trailers = new RequestHeaders(_rememberedValues);
        bool withinLimit;
        try
        {
            withinLimit = _decoder.Decode(_headerBlock.Block, trailers);
        }
        catch (HpackException ex)
        {
            throw new Http2ConnectionException($"The client's header block could not be decoded: {ex.Message}", Http2ErrorCode.CompressionError, ex);
        }
        if (stream.Aborted)
            return;
        if (stream.RequestEnded)
        {
            ResetStreamFromReadLoop(stream, Http2ErrorCode.StreamClosed, $"The client sent HEADERS on stream {stream.Id} after ending it.");
            return;
        }
        if (!_headerBlock.EndsStream || !withinLimit || trailers.HasPseudoHeaders || trailers.Error is not null)
        {
            ResetStreamFromReadLoop(stream, Http2ErrorCode.ProtocolError, $"The client sent a second header block on stream {stream.Id} that is not valid trailers.");
            return;
        }
        if (stream.DeclaredContentLength is { } declared && stream.ReceivedBodyBytes != declared)
        {
            ResetStreamFromReadLoop(stream, Http2ErrorCode.ProtocolError, $"The client's body on stream {stream.Id} does not match its content-length {declared}.");
            return;
        }
        stream.OnRequestEnd(); // Request trailers are not passed on (gRPC clients send none).
    }

    private void OnRstStream(int streamId, ReadOnlySequence<byte> payload)
    {
        if (streamId == 0)
            throw ProtocolError("it sent RST_STREAM on stream 0.");
        if (payload.Length != 4)
            throw new Http2ConnectionException("The client sent an RST_STREAM frame of the wrong size.", Http2ErrorCode.FrameSizeError);
        if (!_streams.TryGetValue(streamId, out var stream))
        {
            if (streamId > _lastClientStreamId)
                throw ProtocolError($"it sent RST_STREAM on stream {streamId}, which it never opened.");
            return;
        }
        var code = (Http2ErrorCode)Http2Protocol.ReadUInt32(payload);
        // The stream stays counted until the application is done with it.
        stream.ResponseEnded = true;
        stream.Aborted = true;
        _toAbort.Add((stream, $"The client reset the stream ({HttpStatusMapping.Http2ErrorName((long)code)})."));
    }

    private void OnSettings(byte flags, int streamId, ReadOnlySequence<byte> payload)
    {
        if (Http2Protocol.ReadSettings(flags, streamId, payload, "client") is not { } settings)
            return; // an acknowledgement
        foreach (var (id, value) in settings)
        {
            switch (id)
            {
                case Http2Protocol.SettingHeaderTableSize:
                    _encoder.SetPeerMaxTableSize((int)Math.Min(value, int.MaxValue));
                    break;
                case Http2Protocol.SettingEnablePush:
                    if (value > 1)
                        throw ProtocolError($"it sent SETTINGS_ENABLE_PUSH {value}; only 0 and 1 are allowed.");
                    break;
                case Http2Protocol.SettingInitialWindowSize:
                    Http2SendWindows.ApplyInitialWindowSize(value, ref _peerInitialWindow, _streams, _toWake, "client");
                    break;
                case Http2Protocol.SettingMaxFrameSize:
                    _peerMaxFrameSize = Http2SendWindows.CheckMaxFrameSize(value, "client");
                    break;
                default:
                    break; // MAX_CONCURRENT_STREAMS (we push nothing), MAX_HEADER_LIST_SIZE, unknown ones.
            }
        }
        QueueControlAnswer();
        Http2FrameWriter.Control(_output.Pending, Http2FrameType.Settings, Http2Protocol.FlagAck, []);
    }

    private void OnPing(byte flags, int streamId, ReadOnlySequence<byte> payload)
    {
        Span<byte> opaque = stackalloc byte[8];
        if (!Http2Protocol.ReadPing(flags, streamId, payload, "client", opaque))
            return;
        QueueControlAnswer();
        Http2FrameWriter.Control(_output.Pending, Http2FrameType.Ping, Http2Protocol.FlagAck, opaque);
    }

    /// <summary>Answers pile up only when the client does not read what we send: past a bound, that is a flood.</summary>
    private void QueueControlAnswer()
    {
        _queuedControlFrames = _output.Backlog == 0 && _output.Pending.WrittenCount < 4096 ? 0 : _queuedControlFrames + 1;
        if (_queuedControlFrames > MaxQueuedControlFrames)
            throw new Http2ConnectionException("The client sends control frames without reading the answers.", Http2ErrorCode.EnhanceYourCalm);
    }

    private void OnWindowUpdate(int streamId, ReadOnlySequence<byte> payload)
    {
        var increment = Http2SendWindows.ReadIncrement(payload, "client");
        if (streamId == 0)
        {
            Http2SendWindows.CreditConnection(increment, ref _connectionSendWindow, _streams, _toWake, "client");
            return;
        }
        if (!_streams.TryGetValue(streamId, out var stream))
        {
            if (streamId > _lastClientStreamId)
                throw ProtocolError($"it sent WINDOW_UPDATE on stream {streamId}, which it never opened.");
            return;
        }
        if (Http2SendWindows.CreditStream(stream, streamId, increment, _toWake, "client") is { } error)
            ResetStreamFromReadLoop(stream, error.Code, error.Reason);
    }

    private void ResetStreamFromReadLoop(int streamId, Http2ErrorCode code)
    {
        if (_streams.TryGetValue(streamId, out var stream))
            ResetStreamFromReadLoop(stream, code, $"The client broke the protocol on stream {streamId} ({HttpStatusMapping.Http2ErrorName((long)code)}).");
    }

    /// <summary>A stream error (RFC 9113 §5.4.2): RST_STREAM, and the application's request is aborted.</summary>
    private void ResetStreamFromReadLoop(Http2ServerStream stream, Http2ErrorCode code, string reason)
    {
        if (!stream.Aborted)
        {
            Http2FrameWriter.RstStream(_output.Pending, stream.Id, code);
            if (!stream.RequestEnded)
                RememberReset(stream.Id);
        }
        stream.ResponseEnded = true;
        stream.Aborted = true;
        LogMalformed(Logger, Id, stream.Id, reason);
        _toAbort.Add((stream, reason));
    }

    private static Http2ConnectionException ProtocolError(string what) =>
        new($"The client broke the HTTP/2 protocol: {what}", Http2ErrorCode.ProtocolError);

    [Microsoft.Extensions.Logging.LoggerMessage(23, Microsoft.Extensions.Logging.LogLevel.Debug, "HTTP/2 connection {ConnectionId}, stream {StreamId} reset: {Reason}", EventName = "StreamReset")]
    private static partial void LogMalformed(Microsoft.Extensions.Logging.ILogger logger, string connectionId, int streamId, string reason);

    /// <summary>
    /// Collects a request's header block: pseudo-headers apart, the rest into the request's header
    /// dictionary (repeated cookies joined, RFC 9113 §8.2.3), checking RFC 9113 §8.2 and §8.3 as it goes.
    /// </summary>
    internal sealed class RequestHeaders(RememberedValues remembered) : IHpackHeaderHandler
    {
        public string? Method { get; private set; }

        public string? Scheme { get; private set; }

        public string? Authority { get; private set; }

        public string? Path { get; private set; }

        public long? ContentLength { get; private set; }

        public bool EndsStream { get; private set; }

        public HeaderFieldList Headers { get; } = new();

        public string? Error { get; private set; }

        public bool HasPseudoHeaders { get; private set; }

        private bool _regularSeen;

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
                HasPseudoHeaders = true;
                if (_regularSeen)
                {
                    Error = "a pseudo-header after a regular header";
                    return;
                }
                // Compared as octets: no string per pseudo-header name.
                if (name.SequenceEqual(":method"u8) && Method is null)
                    Method = value.SequenceEqual("POST"u8) ? HttpMethods.Post : value.SequenceEqual("GET"u8) ? HttpMethods.Get : Encoding.Latin1.GetString(value);
                else if (name.SequenceEqual(":scheme"u8) && Scheme is null)
                    Scheme = value.SequenceEqual("http"u8) ? "http" : value.SequenceEqual("https"u8) ? "https" : Encoding.Latin1.GetString(value);
                else if (name.SequenceEqual(":authority"u8) && Authority is null)
                    Authority = remembered.Authority(value);
                else if (name.SequenceEqual(":path"u8) && Path is null)
                    Path = remembered.Text(value);
                else if (name.SequenceEqual(":method"u8) || name.SequenceEqual(":scheme"u8) || name.SequenceEqual(":authority"u8) || name.SequenceEqual(":path"u8))
                    Error = $"a repeated {Encoding.Latin1.GetString(name)}";
                else
                    Error = $"the pseudo-header {Encoding.Latin1.GetString(name)}, which requests do not have";
                return;
            }
            _regularSeen = true;
            if (name.SequenceEqual("te"u8) && !value.SequenceEqual("trailers"u8))
            {
                Error = "a te header other than \"trailers\"";
                return;
            }
            var key = KnownHeaders.Name(name);
            var text = remembered.Text(value);
            if (key == "content-length")
            {
                if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var length) || ContentLength is not null && ContentLength != length)
                {
                    Error = "an invalid content-length";
                    return;
                }
                ContentLength = length;
            }
            if (key == "cookie" && Headers.TryGetValue(key, out var cookies))
                Headers[key] = cookies + "; " + text;
            else
                Headers.Append(key, text);
        }

        /// <summary>Checks what the whole block must have (RFC 9113 §8.3.1); returns what is wrong, or null.</summary>
        public string? Complete(bool endsStream)
        {
            EndsStream = endsStream;
            if (Error is not null)
                return Error;
            if (Method is null || Scheme is null || Path is null)
                return Method == "CONNECT" ? "CONNECT, which this server does not support" : "a request without :method, :scheme and :path";
            if (Path.Length == 0 || (Path[0] != '/' && !(Path == "*" && Method == HttpMethods.Options)))
                return "a :path that is not an absolute path";
            if (endsStream && ContentLength is > 0)
                return "a content-length above 0 on a request without a body";
            if (Authority is not null)
                Headers["Host"] = Authority;
            return null;
        }
    }
}
