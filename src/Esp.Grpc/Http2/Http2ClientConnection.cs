using System.Buffers;
using System.Buffers.Binary;
using Esp.Grpc.Http2.Hpack;
using Esp.Grpc.Protocol;

namespace Esp.Grpc.Http2;

/// <summary>
/// A client HTTP/2 connection (RFC 9113) made for forwarding gRPC: many concurrent streams,
/// flow control both ways, HPACK with a dynamic table both ways, SETTINGS, PING, GOAWAY,
/// RST_STREAM. No server push (disabled in our SETTINGS), no priorities, no HTTP/1.1.
/// </summary>
/// <remarks>
/// <para>Writing: every frame is encoded under <see cref="SyncRoot"/> into a pending buffer; the
/// first writer to find no send scheduled schedules one on the thread pool, and whatever others
/// add until it runs goes out with it. Concurrent calls' frames therefore share system calls, and
/// HEADERS frames leave in stream-id order with the HPACK encoder's table in step with the wire.</para>
/// <para>Reading: one loop parses every complete frame of a read under the lock, then wakes the
/// streams it touched, once each, outside it.</para>
/// </remarks>
internal sealed partial class Http2ClientConnection : IAsyncDisposable
{
    /// <summary>Our stream window: a 64 KiB message never waits for a WINDOW_UPDATE round trip.</summary>
    public const int StreamReceiveWindow = 1024 * 1024;

    /// <summary>Our connection window; credited as frames arrive (the stream windows bound what is buffered).</summary>
    public const int ConnectionReceiveWindow = 16 * 1024 * 1024;

    public const int MaxHeaderListSize = 64 * 1024;

    /// <summary>Until the server's SETTINGS say otherwise, assume what most servers allow.</summary>
    private const int AssumedMaxConcurrentStreams = 100;

    private readonly Stream _transport;
    private readonly string _authority;
    private readonly string _scheme;
    private readonly HpackEncoder _encoder = new();
    private readonly HpackDecoder _decoder = new(maxHeaderListSize: MaxHeaderListSize);
    private readonly Http2HeaderBlockReader _headerBlock = new(2 * MaxHeaderListSize, "backend");
    private readonly Dictionary<int, Http2ClientStream> _streams = [];
    private readonly List<Http2ClientStream> _touched = [];
    private readonly List<Http2Signal> _disarmed = []; // read loop only
    private readonly HeaderCollector _headerCollector = new(new RememberedValues()); // read loop only
    private readonly ArrayBufferWriter<byte> _requestBlock = new(1024); // a request header block being encoded
    private readonly Task _readLoop;

    private readonly Http2Output _output;

    private int _nextStreamId = 1;
    private int _peerMaxConcurrentStreams = AssumedMaxConcurrentStreams;
    private int _peerInitialWindow = Http2Protocol.DefaultWindowSize;
    private int _peerMaxFrameSize = Http2Protocol.DefaultMaxFrameSize;
    private long _connectionSendWindow = Http2Protocol.DefaultWindowSize;
    private int _connectionReceiveCredit;
    private bool _draining; // after GOAWAY: no new streams, closed when the last one ends
    private Exception? _failure;


    // Keep-alive: a connection with calls in flight that hears nothing for a while is pinged, and
    // fails if the PING is not answered in time (a backend gone without a FIN or RST).
    private readonly Http2KeepAlive _keepAlive;
    private readonly ITimer? _keepAliveTimer;
    private bool _receivedSinceTick;
    private int _quietTicks;
    private bool _pingOutstanding;
    private int _idleTicks; // ticks without a call in flight and without a call started

    private Http2ClientConnection(Stream transport, string scheme, string authority, Http2KeepAlive keepAlive)
    {
        _transport = transport;
        _scheme = scheme;
        _authority = authority;
        _keepAlive = keepAlive;
        _output = new Http2Output(transport, SyncRoot, ex => Fail(new Http2ConnectionException($"Writing to the backend failed: {ex.Message}", inner: ex)));
        // Before the read loop: a connection failing at once disposes the timer too.
        if (keepAlive.Timeout > TimeSpan.Zero)
            _keepAliveTimer = keepAlive.Time.CreateTimer(static c => ((Http2ClientConnection)c!).OnKeepAliveTick(), this, keepAlive.Timeout, keepAlive.Timeout);
        WritePreface();
        _readLoop = Task.Run(ReadLoopAsync);
        RequestSend();
    }

    /// <summary>Guards every mutable field of the connection and of its streams.</summary>
    internal Lock SyncRoot { get; } = new();

    /// <summary>Set when the connection failed or was closed: no stream can start on it any more.</summary>
    public bool IsClosed
    {
        get
        {
            lock (SyncRoot)
                return _failure is not null;
        }
    }

    /// <summary>Runs the connection over an established transport (TCP, or TLS that negotiated h2).</summary>
    /// <param name="scheme">The requests' <c>:scheme</c>: http, or https on TLS.</param>
    /// <param name="authority">The requests' <c>:authority</c>: the backend's host and port.</param>
    public static Http2ClientConnection Start(Stream transport, string scheme, string authority, Http2KeepAlive keepAlive) =>
        new(transport, scheme, authority, keepAlive);

    /// <summary>
    /// Opens a stream and queues its HEADERS (not sent until a write or <paramref name="send"/>).
    /// Returns null when the connection cannot take another stream (full, draining or failed): the
    /// caller picks or opens another connection.
    /// </summary>
    /// <param name="writeHeaders">Writes the regular headers (the pseudo-headers are written here);
    /// it runs under the connection's lock, so it must only encode.</param>
    public Http2ClientStream? TryStartStream<TState>(string path, TState state, Action<Http2HeaderWriter, TState> writeHeaders, bool endStream, bool send)
    {
        Http2ClientStream stream;
        var sendClaimed = false;
        lock (SyncRoot)
        {
            if (_failure is not null || _draining || _nextStreamId < 0 || _streams.Count >= _peerMaxConcurrentStreams)
                return null;
            stream = new Http2ClientStream(this, _nextStreamId, _peerInitialWindow, StreamReceiveWindow);
            _nextStreamId += 2;
            _idleTicks = 0;
            _streams.Add(stream.Id, stream);

            var headerWriter = new Http2HeaderWriter(_encoder, _requestBlock);
            _requestBlock.ResetWrittenCount();
            _encoder.BeginBlock(_requestBlock);
            headerWriter.Write(":method", "POST", HpackIndexing.Index);
            headerWriter.Write(":scheme", _scheme, HpackIndexing.Index);
            headerWriter.Write(":authority", _authority, HpackIndexing.Index);
            headerWriter.Write(":path", path, HpackIndexing.Index);
            try
            {
                writeHeaders(headerWriter, state);
            }
            catch (Exception)
            {
                // The encoder's table already holds what the block added so far: the backend must
                // see that part too, or the tables fall out of step. Send it, then reset the stream.
                WriteHeaderFrames(stream.Id, _requestBlock.WrittenSpan, endStream: true);
                WriteRstStream(stream.Id, Http2ErrorCode.Cancel);
                _streams.Remove(stream.Id);
                RequestSend();
                throw;
            }
            WriteHeaderFrames(stream.Id, _requestBlock.WrittenSpan, endStream);
            if (endStream)
                stream.RequestEnded = true;
            if (send)
                sendClaimed = _output.ClaimSendLocked();
        }
        if (sendClaimed)
            _output.StartSend();
        return stream;
    }

    /// <summary>Writes request body bytes within the send windows, waiting for WINDOW_UPDATEs as needed.</summary>
    internal async ValueTask WriteDataAsync(Http2ClientStream stream, ReadOnlySequence<byte> data, bool endStream)
    {
        while (true)
        {
            bool done, send;
            lock (SyncRoot)
            {
                if (stream.RequestDiscarded)
                    return;
                stream.ThrowIfFailed();
                ThrowIfFailed();
                if (stream.RequestEnded)
                    throw new InvalidOperationException("The request body has already ended.");
                while (!data.IsEmpty)
                {
                    var size = (int)Math.Min(Math.Min(data.Length, _peerMaxFrameSize), Math.Min(stream.SendWindow, _connectionSendWindow));
                    if (size <= 0)
                        break;
                    var last = size == data.Length && endStream;
                    WriteDataFrame(stream.Id, data.Slice(0, size), last);
                    stream.SendWindow -= size;
                    _connectionSendWindow -= size;
                    data = data.Slice(size);
                    if (last)
                        stream.RequestEnded = true;
                }
                if (data.IsEmpty && endStream && !stream.RequestEnded)
                {
                    WriteDataFrame(stream.Id, ReadOnlySequence<byte>.Empty, endStream: true);
                    stream.RequestEnded = true;
                }
                done = data.IsEmpty;
                if (!done)
                    stream.ArmWindowWait();
                send = _output.ClaimSendLocked();
            }
            if (send)
                _output.StartSend();
            if (done)
                return;
            await stream.WaitForWindowAsync();
        }
    }

    /// <summary>Resets the stream unless it is closed already, and fails its waits with <paramref name="error"/>.</summary>
    internal void ResetStream(Http2ClientStream stream, Http2ErrorCode code, Exception error, bool wakeOnThreadPool)
    {
        lock (SyncRoot)
        {
            if (stream.IsClosed)
                return;
            stream.Fail(error);
            if (_failure is null && _streams.Remove(stream.Id))
                WriteRstStream(stream.Id, code);
        }
        RequestSend();
        if (wakeOnThreadPool)
            ThreadPool.UnsafeQueueUserWorkItem(static s => s.Wake(), stream, preferLocal: false);
        else
            stream.Wake();
    }

    /// <summary>The consumer is done with the stream: reset it if still open, forget it.</summary>
    internal void CloseStream(Http2ClientStream stream)
    {
        var reset = false;
        bool drained;
        byte[]? body;
        lock (SyncRoot)
        {
            if (!stream.IsClosed)
            {
                stream.Fail(new OperationCanceledException("The stream was closed."));
                reset = _failure is null;
            }
            if (_streams.Remove(stream.Id) && reset)
                WriteRstStream(stream.Id, Http2ErrorCode.Cancel);
            else
                reset = false;
            body = stream.TakeBodyBuffer();
            drained = IsDrainedLocked();
        }
        if (body is not null)
            ArrayPool<byte>.Shared.Return(body);
        if (reset)
            RequestSend();
        if (drained)
            FailDrained();
    }

    /// <summary>Takes the stream's window credit once it is worth a WINDOW_UPDATE (under the lock).</summary>
    internal int TakeStreamCredit(Http2ClientStream stream, ref int unacknowledged)
    {
        if (unacknowledged < StreamReceiveWindow / 2 || stream.ResponseEnded || stream.Error is not null)
            return 0;
        var credit = unacknowledged;
        unacknowledged = 0;
        stream.ReceiveWindow += credit;
        WriteWindowUpdate(stream.Id, credit);
        return credit;
    }

    // --- Frames out (all under the lock).

    private void WritePreface()
    {
        lock (SyncRoot)
        {
            _output.Pending.Write(Http2Protocol.ClientPreface);
            Http2FrameWriter.Settings(_output.Pending, [
                (Http2Protocol.SettingEnablePush, 0),
                (Http2Protocol.SettingInitialWindowSize, StreamReceiveWindow),
                (Http2Protocol.SettingMaxHeaderListSize, MaxHeaderListSize)]);
            WriteWindowUpdate(0, ConnectionReceiveWindow - Http2Protocol.DefaultWindowSize);
        }
    }

    private void WriteHeaderFrames(int streamId, ReadOnlySpan<byte> block, bool endStream) =>
        Http2FrameWriter.Headers(_output.Pending, streamId, block, endStream, _peerMaxFrameSize);

    private void WriteDataFrame(int streamId, ReadOnlySequence<byte> data, bool endStream) => Http2FrameWriter.Data(_output.Pending, streamId, data, endStream);

    private void WriteRstStream(int streamId, Http2ErrorCode code) => Http2FrameWriter.RstStream(_output.Pending, streamId, code);

    private void WriteWindowUpdate(int streamId, int increment) => Http2FrameWriter.WindowUpdate(_output.Pending, streamId, increment);

    private void WriteControlFrame(Http2FrameType type, byte flags, ReadOnlySpan<byte> payload) => Http2FrameWriter.Control(_output.Pending, type, flags, payload);

    private void WriteGoAway(Http2ErrorCode code) => Http2FrameWriter.GoAway(_output.Pending, 0, code);

    internal void RequestSend() => _output.RequestSend();

    private void ThrowIfFailed()
    {
        if (_failure is { } failure)
            throw new Http2ConnectionException(failure.Message, (failure as Http2ConnectionException)?.ErrorCode ?? Http2ErrorCode.NoError, failure.InnerException);
    }

    /// <summary>
    /// Runs every <see cref="Http2KeepAlive.Timeout"/>: with calls in flight and nothing heard for
    /// <see cref="Http2KeepAlive.Delay"/>, sends a PING; if nothing at all (not even its ACK)
    /// arrives by the next tick, the connection is dead and its calls fail. Without calls for
    /// <see cref="Http2KeepAlive.IdleTimeout"/>, the connection is closed.
    /// </summary>
    private void OnKeepAliveTick()
    {
        bool dead, idle = false;
        lock (SyncRoot)
        {
            if (_failure is not null)
                return;
            var heard = _receivedSinceTick;
            _receivedSinceTick = false;
            dead = _pingOutstanding && !heard;
            if (!dead)
            {
                _pingOutstanding = false;
                _quietTicks = heard ? 0 : _quietTicks + 1;
                if (_streams.Count == 0)
                {
                    if (_draining || _keepAlive.IdleTimeout <= TimeSpan.Zero || ++_idleTicks * _keepAlive.Timeout < _keepAlive.IdleTimeout)
                        return;
                    // No stream can start from here on: the pool opens another connection.
                    idle = true;
                    _draining = true;
                    WriteGoAway(Http2ErrorCode.NoError);
                }
                else
                {
                    if (_quietTicks * _keepAlive.Timeout < _keepAlive.Delay)
                        return;
                    _quietTicks = 0;
                    _pingOutstanding = true;
                    WriteControlFrame(Http2FrameType.Ping, 0, stackalloc byte[8]);
                }
            }
        }
        if (dead)
            Fail(new Http2ConnectionException($"The backend did not answer a PING within {_keepAlive.Timeout.TotalSeconds:0.#} s: the connection is presumed dead."));
        else if (idle)
            _ = CloseIdleAsync();
        else
            RequestSend();
    }

    private async Task CloseIdleAsync()
    {
        await FlushBeforeCloseAsync();
        Fail(new Http2ConnectionException($"The connection was closed after {_keepAlive.IdleTimeout.TotalSeconds:0.#} s without calls."));
    }

    // --- Ending.

    private Task FlushBeforeCloseAsync() => _output.FlushAndStopAsync();

    private void Fail(Exception failure)
    {
        Http2ClientStream[] streams;
        lock (SyncRoot)
        {
            if (_failure is not null)
                return;
            _failure = failure;
            streams = [.. _streams.Values];
            _streams.Clear();
            foreach (var stream in streams)
                stream.Fail(failure);
        }
        foreach (var stream in streams)
            ThreadPool.UnsafeQueueUserWorkItem(static s => s.Wake(), stream, preferLocal: false);
        _output.Stop();
        _keepAliveTimer?.Dispose();
        _transport.Dispose();
    }

    /// <summary>
    /// Whether the backend's GOAWAY left nothing to finish on this connection (under the lock): a
    /// draining connection closes (<see cref="FailDrained"/>) once its last stream is done.
    /// </summary>
    private bool IsDrainedLocked() => _draining && _streams.Count == 0 && _failure is null;

    private void FailDrained() => Fail(new Http2ConnectionException("The backend closed the connection (GOAWAY)."));

    /// <summary>Closes the connection: GOAWAY, then the transport; open streams fail.</summary>
    public async ValueTask DisposeAsync()
    {
        lock (SyncRoot)
        {
            if (_failure is null)
                WriteGoAway(Http2ErrorCode.NoError);
        }
        await FlushBeforeCloseAsync();
        Fail(new ObjectDisposedException(nameof(Http2ClientConnection), "The connection was closed."));
        await _readLoop;
    }
}
