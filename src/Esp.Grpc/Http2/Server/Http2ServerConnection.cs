using System.Buffers;
using System.Globalization;
using System.Net;
using System.Text;
using System.IO.Pipelines;
using Esp.Grpc.Http2.Hpack;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Esp.Grpc.Http2.Server;

/// <summary>
/// A server HTTP/2 connection (RFC 9113, prior knowledge): reads the client's frames, runs each
/// request through the application on the thread pool, and writes the responses. Flow control
/// both ways, HPACK both ways, SETTINGS, PING, GOAWAY (graceful and on errors), RST_STREAM. No
/// server push, no priorities, no CONNECT.
/// </summary>
/// <remarks>
/// Abuse bounds: a stream counts against SETTINGS_MAX_CONCURRENT_STREAMS until the application is
/// done with it, also after the client reset it (rapid reset, CVE-2023-44487); a client that keeps
/// opening streams over the limit, or queues control-frame answers it does not read, is sent
/// GOAWAY ENHANCE_YOUR_CALM; header blocks are bounded while they are still arriving.
/// Frames are written as in <see cref="Http2ClientConnection"/>: encoded under one lock into a
/// shared <see cref="Http2Output"/>, sent by one scheduled send.
/// </remarks>
internal sealed partial class Http2ServerConnection
{
    /// <summary>Answers we may queue for a client that does not read before it counts as a flood.</summary>
    private const int MaxQueuedControlFrames = 10_000;

    /// <summary>A response writer waits while more than this is queued for the client.</summary>
    private const int ResponseBacklogLimit = 512 * 1024;

    private static long s_nextId;

    private readonly Stream _transport;
    private readonly Http2ServerOptions _options;
    private readonly RequestDelegate _application;
    private readonly Dictionary<int, Http2ServerStream> _streams = [];
    private readonly List<Http2ServerStream> _started = [];
    private readonly List<Http2ServerStream> _toWake = [];
    private readonly List<(Http2ServerStream Stream, string Reason)> _toAbort = [];
    private readonly HpackDecoder _decoder;
    private readonly Http2HeaderBlockReader _headerBlock;
    private readonly HpackEncoder _encoder = new();
    private readonly ArrayBufferWriter<byte> _responseBlock = new(512); // a response header block being encoded
    private readonly Http2Output _output;
    private readonly ITimer _timer;
    private readonly HashSet<int> _resetOpenStreams = []; // we reset them; the client may still send on them
    private readonly Queue<int> _resetOrder = new();
    private readonly RememberedValues _rememberedValues = new();
    private readonly Stack<Http2RequestBody> _spareRequestBodies = new();
    private readonly Stack<ArrayBufferWriter<byte>> _spareResponseBuffers = new();
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private int _lastClientStreamId;
    private int _peerInitialWindow = Http2Protocol.DefaultWindowSize;
    private int _peerMaxFrameSize = Http2Protocol.DefaultMaxFrameSize;
    private long _connectionSendWindow = Http2Protocol.DefaultWindowSize;
    private long _connectionReceiveWindow;
    private int _connectionUncredited;
    private int _refusedStreams;
    private int _queuedControlFrames;
    private bool _handshakeDone;
    private bool _goAwaySent;
    private bool _errorGoAwaySent;
    private int _goAwayLastStreamId;
    private bool _closing;


    private Http2ServerConnection(Stream transport, IPEndPoint? local, IPEndPoint? remote, RequestDelegate application, Http2ServerOptions options, ILogger logger)
    {
        _transport = transport;
        _application = application;
        _options = options;
        Logger = logger;
        LocalEndPoint = local;
        RemoteEndPoint = remote;
        Id = "h2-" + Interlocked.Increment(ref s_nextId).ToString(CultureInfo.InvariantCulture);
        _decoder = new HpackDecoder(maxHeaderListSize: options.MaxHeaderListSize);
        _headerBlock = new Http2HeaderBlockReader(2 * options.MaxHeaderListSize, "client");
        _connectionReceiveWindow = options.ConnectionReceiveWindow;
        _output = new Http2Output(transport, SyncRoot, ex => Close($"writing failed: {ex.Message}"));
        _timer = options.Time.CreateTimer(static c => ((Http2ServerConnection)c!).OnTimer(), this, options.HandshakeTimeout, Timeout.InfiniteTimeSpan);
    }

    public string Id { get; }

    public ILogger Logger { get; }

    public IPEndPoint? LocalEndPoint { get; }

    public IPEndPoint? RemoteEndPoint { get; }

    /// <summary>Guards every mutable field of the connection and its streams' flow-control state.</summary>
    internal Lock SyncRoot { get; } = new();

    /// <summary>Completes when the connection is closed and its read loop has ended.</summary>
    public Task Closed => _closed.Task;

    /// <summary>Serves one accepted connection until it ends.</summary>
    public static Http2ServerConnection Start(Stream transport, IPEndPoint? local, IPEndPoint? remote, RequestDelegate application, Http2ServerOptions options, ILogger logger)
    {
        var connection = new Http2ServerConnection(transport, local, remote, application, options, logger);
        _ = Task.Run(connection.RunAsync);
        return connection;
    }

    /// <summary>
    /// Graceful close: GOAWAY naming the last stream we accepted (later ones are refused), then
    /// the connection closes when its last stream is done.
    /// </summary>
    public void BeginShutdown()
    {
        lock (SyncRoot)
        {
            if (_closing)
                return;
            SendGoAway(Http2ErrorCode.NoError, null);
        }
        _output.RequestSend();
        CloseIfDone();
    }

    /// <summary>Ends every stream at once and closes.</summary>
    public void Abort(string reason)
    {
        Http2ServerStream[] streams;
        lock (SyncRoot)
            streams = [.. _streams.Values];
        foreach (var stream in streams)
            stream.Abort(reason);
        Close(reason);
    }

    // --- Responses (called by streams).

    /// <summary>
    /// Sends what the application has produced: the headers if not yet sent, the buffered body
    /// within the client's windows (waiting for WINDOW_UPDATEs as needed) and, when
    /// <paramref name="end"/>, the trailers or an empty END_STREAM. A response with neither body
    /// nor trailers ends in its HEADERS frame (what gRPC calls Trailers-Only).
    /// </summary>
    internal async ValueTask SendResponseAsync(Http2ServerStream stream, bool end)
    {
        while (true)
        {
            bool send;
            Task? backlogBelow = null;
            lock (SyncRoot)
            {
                if (stream.Aborted || stream.ResponseEnded || _closing)
                {
                    stream.ResponseBuffer.ResetWrittenCount();
                    stream.ResponseBufferSent = 0;
                    return;
                }
                if (!WriteResponseLocked(stream, end, out var windowExhausted))
                    return;
                if (windowExhausted)
                {
                    stream.WaitingForWindow = true;
                    stream.WindowSignal.Arm();
                }
                else
                {
                    backlogBelow = _output.BacklogBelowLocked(ResponseBacklogLimit);
                }
                send = _output.ClaimSendLocked();
            }
            if (send)
                _output.StartSend();
            if (backlogBelow is not null)
            {
                await backlogBelow;
                return;
            }
            await stream.WindowSignal.WaitAsync();
        }
    }

    /// <summary>
    /// Frames what the stream's response has ready (under the lock): the headers if not sent yet,
    /// the body within the windows (<paramref name="windowExhausted"/> when some is left for a
    /// WINDOW_UPDATE) and, when <paramref name="end"/>, the end. False when the header block could
    /// not be encoded (the stream was reset).
    /// </summary>
    private bool WriteResponseLocked(Http2ServerStream stream, bool end, out bool windowExhausted)
    {
        windowExhausted = false;
        var unsent = stream.ResponseBuffer.WrittenCount - stream.ResponseBufferSent;
        var trailers = stream.ResponseTrailerFields;
        if (!stream.HeadersSent)
        {
            var headersOnly = end && unsent == 0 && (trailers is null || trailers.Count == 0);
            if (!WriteResponseHeaders(stream, headersOnly))
                return false;
            if (headersOnly)
            {
                EndResponse(stream);
                return true;
            }
        }
        while (unsent > 0)
        {
            var size = (int)Math.Min(Math.Min(unsent, _peerMaxFrameSize), Math.Min(stream.SendWindow, _connectionSendWindow));
            if (size <= 0)
                break;
            var data = new ReadOnlySequence<byte>(stream.ResponseBuffer.WrittenMemory.Slice(stream.ResponseBufferSent, size));
            var last = end && size == unsent && (trailers is null || trailers.Count == 0);
            Http2FrameWriter.Data(_output.Pending, stream.Id, data, last);
            stream.SendWindow -= size;
            _connectionSendWindow -= size;
            stream.ResponseBufferSent += size;
            unsent -= size;
            if (last)
                EndResponse(stream);
        }
        if (unsent > 0)
        {
            windowExhausted = true;
            return true;
        }
        stream.ResponseBuffer.ResetWrittenCount();
        stream.ResponseBufferSent = 0;
        if (end && !stream.ResponseEnded)
        {
            if (trailers is { Count: > 0 })
            {
                if (!WriteHeaderBlock(stream, trailers, status: null, endStream: true))
                    return false;
            }
            else
            {
                Http2FrameWriter.Data(_output.Pending, stream.Id, ReadOnlySequence<byte>.Empty, endStream: true);
            }
            EndResponse(stream);
        }
        return true;
    }

    private bool WriteResponseHeaders(Http2ServerStream stream, bool endStream)
    {
        stream.HeadersSent = true;
        return WriteHeaderBlock(stream, stream.ResponseHeaderFields, stream.ResponseStatusCode, endStream);
    }

    /// <summary>Encodes and queues a response header block (or trailers when <paramref name="status"/> is null). Under the lock.</summary>
    private bool WriteHeaderBlock(Http2ServerStream stream, HeaderFieldList fields, int? status, bool endStream)
    {
        _responseBlock.ResetWrittenCount();
        _encoder.BeginBlock(_responseBlock);
        try
        {
            if (status is { } code)
            {
                _encoder.Encode(_responseBlock, ":status", StatusText(code), HpackIndexing.Index);
                // RFC 9110 §6.6.1: a server with a clock sends Date (a forwarded response has the backend's).
                if (!fields.ContainsKey("date"))
                    _encoder.Encode(_responseBlock, "date", HttpDate.Now(_options.Time), HpackIndexing.Index);
            }
            foreach (var (name, values) in fields)
            {
                var lower = LowerCaseName(name);
                if (HeaderFieldRules.IsConnectionSpecific(lower))
                    continue;
                var indexing = lower == "set-cookie" ? HpackIndexing.NeverIndex : HpackIndexing.Index;
                foreach (var value in values)
                    _encoder.Encode(_responseBlock, lower, value ?? "", indexing);
            }
        }
        catch (ArgumentException ex)
        {
            // A header that cannot be sent (a character above U+00FF). What the block added to the
            // encoder's table must still reach the client, or the tables fall out of step.
            Http2FrameWriter.Headers(_output.Pending, stream.Id, _responseBlock.WrittenSpan, endStream: true, _peerMaxFrameSize);
            Http2FrameWriter.RstStream(_output.Pending, stream.Id, Http2ErrorCode.InternalError);
            LogBadResponseHeader(Logger, stream.Method, stream.Path, ex.Message);
            EndResponse(stream);
            return false;
        }
        Http2FrameWriter.Headers(_output.Pending, stream.Id, _responseBlock.WrittenSpan, endStream, _peerMaxFrameSize);
        return true;
    }

    private static string StatusText(int code) => code switch
    {
        200 => "200",
        204 => "204",
        400 => "400",
        404 => "404",
        500 => "500",
        _ => code.ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>HTTP/2 field names are lower case; ASP.NET's constants (Content-Type, ...) are not.</summary>
    private static string LowerCaseName(string name)
    {
        foreach (var c in name)
        {
            if (char.IsAsciiLetterUpper(c))
                return name switch
                {
                    "Content-Type" => "content-type",
                    "Content-Length" => "content-length",
                    "WWW-Authenticate" => "www-authenticate",
                    _ => name.ToLowerInvariant(),
                };
        }
        return name;
    }

    private static void EndResponse(Http2ServerStream stream)
    {
        stream.ResponseEnded = true;
        stream.ResponseBuffer.ResetWrittenCount();
        stream.ResponseBufferSent = 0;
    }

    /// <summary>Resets the stream (the application's abort, or its failure after the response started).</summary>
    internal void ResetStream(Http2ServerStream stream, Http2ErrorCode code)
    {
        lock (SyncRoot)
        {
            if (stream.ResponseEnded || _closing)
                return;
            stream.ResponseEnded = true;
            stream.Aborted = true;
            Http2FrameWriter.RstStream(_output.Pending, stream.Id, code);
            if (!stream.RequestEnded)
                RememberReset(stream.Id);
        }
        _output.RequestSend();
    }

    /// <summary>
    /// The application consumed request bytes: credit them back to the client's windows (under the
    /// lock); true when a WINDOW_UPDATE is pending, for <see cref="RequestSend"/> after the lock.
    /// </summary>
    internal bool CreditRequestBodyLocked(Http2ServerStream stream, int count)
    {
        if (_closing)
            return false;
        var send = CreditConnection(count);
        if (!stream.RequestEnded)
        {
            stream.UncreditedBytes += count;
            if (stream.UncreditedBytes >= _options.StreamReceiveWindow / 4)
            {
                Http2FrameWriter.WindowUpdate(_output.Pending, stream.Id, stream.UncreditedBytes);
                stream.ReceiveWindow += stream.UncreditedBytes;
                stream.UncreditedBytes = 0;
                send = true;
            }
        }
        return send;
    }

    internal void RequestSend() => _output.RequestSend();

    /// <summary>The application is done with the stream: forget it, tell the client to stop sending if it still is.</summary>
    internal void OnStreamDone(Http2ServerStream stream)
    {
        bool send, done;
        lock (SyncRoot)
        {
            stream.Running = false;
            _streams.Remove(stream.Id);
            if (!stream.RequestEnded && !stream.Aborted && !_closing)
            {
                // RFC 9113 §8.1: the response is complete; the rest of the request is not needed.
                Http2FrameWriter.RstStream(_output.Pending, stream.Id, Http2ErrorCode.NoError);
                RememberReset(stream.Id);
            }
            stream.RequestEnded = true;
            stream.Done = true;
            KeepBuffers(stream);
            if (_streams.Count == 0 && !_closing)
                _timer.Change(_options.IdleTimeout, Timeout.InfiniteTimeSpan);
            send = _output.ClaimSendLocked();
            done = IsDoneLocked();
        }
        if (send)
            _output.StartSend();
        if (done)
            _ = CloseAfterFlushAsync(AllStreamsDone);
    }

    /// <summary>
    /// A stream we reset while the client was still sending: its frames in flight are ignored
    /// (RFC 9113 §5.1). The most recent ones are remembered; older ids count as closed.
    /// </summary>
    private void RememberReset(int streamId)
    {
        if (!_resetOpenStreams.Add(streamId))
            return;
        _resetOrder.Enqueue(streamId);
        while (_resetOrder.Count > 2 * _options.MaxConcurrentStreams)
            _resetOpenStreams.Remove(_resetOrder.Dequeue());
    }

    /// <summary>A finished stream's request body and response buffer serve the connection's next streams (under the lock).</summary>
    private void KeepBuffers(Http2ServerStream stream)
    {
        if (_spareRequestBodies.Count < MaxKeptBuffers && stream.RequestBody.ReaderCompleted)
        {
            stream.RequestBody.Reset();
            _spareRequestBodies.Push(stream.RequestBody);
        }
        if (_spareResponseBuffers.Count < MaxKeptBuffers && stream.ResponseBuffer.Capacity <= MaxKeptResponseBuffer)
        {
            stream.ResponseBuffer.ResetWrittenCount();
            _spareResponseBuffers.Push(stream.ResponseBuffer);
        }
    }

    // What an idle connection may hold on to: at most 16 x 16 KiB of response buffers.
    private const int MaxKeptBuffers = 16;
    private const int MaxKeptResponseBuffer = 16 * 1024;

    // --- Connection lifetime.

    private void OnTimer()
    {
        lock (SyncRoot)
        {
            if (_closing || (_handshakeDone && _streams.Count > 0))
                return;
            if (!_handshakeDone)
            {
                LogClosed(Logger, Id, $"no HTTP/2 preface and SETTINGS within {_options.HandshakeTimeout.TotalSeconds:0.#} s");
            }
            else
            {
                SendGoAway(Http2ErrorCode.NoError, null);
            }
        }
        _ = CloseAfterFlushAsync("idle");
    }

    /// <summary>
    /// GOAWAY with the last stream we accepted; no new streams after it. After a graceful one, an
    /// error still gets its own (RFC 9113 §6.8 allows more than one; the last stream id never grows). Under the lock.
    /// </summary>
    private void SendGoAway(Http2ErrorCode code, string? reason)
    {
        if (_goAwaySent && (code == Http2ErrorCode.NoError || _errorGoAwaySent))
            return;
        if (!_goAwaySent)
            _goAwayLastStreamId = _lastClientStreamId;
        _goAwaySent = true;
        _errorGoAwaySent = code != Http2ErrorCode.NoError;
        Http2FrameWriter.GoAway(_output.Pending, _goAwayLastStreamId, code, reason is null ? default : Encoding.UTF8.GetBytes(reason));
    }

    private void CloseIfDone()
    {
        bool done;
        lock (SyncRoot)
            done = IsDoneLocked();
        if (done)
            _ = CloseAfterFlushAsync(AllStreamsDone);
    }

    /// <summary>Whether a GOAWAY was sent and every stream is done (under the lock).</summary>
    private bool IsDoneLocked() => _goAwaySent && _streams.Count == 0 && !_closing;

    private const string AllStreamsDone = "GOAWAY sent and every stream done";

    private async Task CloseAfterFlushAsync(string reason)
    {
        await _output.FlushAndStopAsync();
        Close(reason);
    }

    private void Close(string reason)
    {
        lock (SyncRoot)
        {
            if (_closing)
                return;
            _closing = true;
        }
        LogClosed(Logger, Id, reason);
        _output.Stop();
        _timer.Dispose();
        _transport.Dispose();
    }

    [LoggerMessage(21, LogLevel.Debug, "HTTP/2 connection {ConnectionId} closed: {Reason}", EventName = "ConnectionClosed")]
    private static partial void LogClosed(ILogger logger, string connectionId, string reason);

    [LoggerMessage(22, LogLevel.Error, "The response to {Method} {Path} has a header that cannot be sent: {Problem}", EventName = "BadResponseHeader")]
    private static partial void LogBadResponseHeader(ILogger logger, string method, string path, string problem);
}
