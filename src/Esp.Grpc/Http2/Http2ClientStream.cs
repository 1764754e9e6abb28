using System.Buffers;

namespace Esp.Grpc.Http2;

/// <summary>
/// One request/response exchange on an <see cref="Http2ClientConnection"/>. One consumer reads it
/// (the response's headers, body and trailers, in that order) while the request body may be
/// written at the same time; <see cref="Dispose"/> ends it, resetting the stream if it is still open.
/// </summary>
/// <remarks>
/// The connection's read loop fills it and wakes the consumer once per batch of frames, so a
/// unary answer (headers, message and trailers in one read) resumes the consumer once. Its
/// continuation runs on the read loop: consumers must not block (they may await).
/// All mutable state is guarded by the connection's lock.
/// </remarks>
internal sealed class Http2ClientStream : IDisposable, IHttp2SendWindow
{
    private readonly Http2ClientConnection _connection;
    private readonly Http2Signal _response;
    private Http2Signal? _window;

    private byte[]? _body;
    private int _bodyStart;
    private int _bodyEnd;
    private int _unacknowledged; // body bytes consumed since the last WINDOW_UPDATE for this stream

    internal Http2ClientStream(Http2ClientConnection connection, int id, int sendWindow, int receiveWindow)
    {
        _connection = connection;
        _response = new Http2Signal(connection.SyncRoot);
        Id = id;
        SendWindow = sendWindow;
        ReceiveWindow = receiveWindow;
    }

    public int Id { get; }

    /// <summary>The response's <c>:status</c>, once <see cref="WaitForResponseAsync"/> returned.</summary>
    public int StatusCode { get; private set; }

    /// <summary>The response's headers (without pseudo-headers), once <see cref="WaitForResponseAsync"/> returned.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> ResponseHeaders { get; private set; } = [];

    /// <summary>The trailers, once the body reads 0; empty when the response ended in its headers.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Trailers { get; private set; } = [];

    /// <summary>True when the response ended with its headers (for gRPC: Trailers-Only).</summary>
    public bool EndedWithHeaders { get; private set; }

    // --- State owned by the connection (under its lock).

    public long SendWindow { get; set; }

    internal int ReceiveWindow { get; set; }

    internal bool RequestEnded { get; set; }

    /// <summary>The backend answered in full and stopped reading the request: further writes are dropped.</summary>
    internal bool RequestDiscarded { get; set; }

    internal bool ResponseEnded { get; private set; }

    internal bool HeadersReceived { get; private set; }

    /// <summary>Set once: the stream failed (reset by the backend or by us, or the connection died).</summary>
    internal Exception? Error { get; private set; }

    internal bool IsClosed => Error is not null || (RequestEnded && ResponseEnded);

    /// <summary>Waiting for send window (set by the writer, cleared by the connection when the window grows).</summary>
    public bool WaitingForWindow { get; set; }

    internal void OnHeaders(int status, KeyValuePair<string, string>[] headers, bool endStream)
    {
        StatusCode = status;
        ResponseHeaders = headers;
        HeadersReceived = true;
        if (endStream)
        {
            EndedWithHeaders = true;
            ResponseEnded = true;
        }
    }

    internal void OnTrailers(KeyValuePair<string, string>[] trailers)
    {
        Trailers = trailers;
        ResponseEnded = true;
    }

    internal void OnEndStream() => ResponseEnded = true;

    internal void OnData(ReadOnlySequence<byte> data)
    {
        var length = (int)data.Length;
        if (length == 0)
            return;
        if (_body is null)
        {
            _body = ArrayPool<byte>.Shared.Rent(Math.Max(length, 4096));
        }
        else if (_body.Length - _bodyEnd < length)
        {
            var buffered = _bodyEnd - _bodyStart;
            var target = _body.Length >= buffered + length ? _body : ArrayPool<byte>.Shared.Rent(Math.Max(buffered + length, _body.Length * 2));
            Buffer.BlockCopy(_body, _bodyStart, target, 0, buffered);
            if (!ReferenceEquals(target, _body))
                ArrayPool<byte>.Shared.Return(_body);
            _body = target;
            _bodyStart = 0;
            _bodyEnd = buffered;
        }
        data.CopyTo(_body.AsSpan(_bodyEnd));
        _bodyEnd += length;
    }

    internal void Fail(Exception error) => Error ??= error;

    internal void CreditPadding(int padding)
    {
        _unacknowledged += padding;
        _connection.TakeStreamCredit(this, ref _unacknowledged);
    }

    /// <summary>Wakes whoever waits on this stream (called without the lock held).</summary>
    internal void Wake()
    {
        _response.Wake();
        _window?.Wake();
    }

    /// <summary>Disarms this stream's armed waits under the lock, adding them to <paramref name="toComplete"/> to complete outside it.</summary>
    internal void DisarmWaitsLocked(List<Http2Signal> toComplete)
    {
        if (_response.DisarmLocked())
            toComplete.Add(_response);
        if (_window?.DisarmLocked() == true)
            toComplete.Add(_window);
    }

    // --- The consumer's side.

    /// <summary>Waits for the response's headers; throws if the stream failed first.</summary>
    public async ValueTask WaitForResponseAsync()
    {
        while (true)
        {
            lock (_connection.SyncRoot)
            {
                if (HeadersReceived)
                    return;
                ThrowIfFailed();
                _response.Arm();
            }
            await _response.WaitAsync();
        }
    }

    /// <summary>
    /// Copies buffered body bytes into <paramref name="destination"/> without waiting. Returns
    /// false when nothing is buffered and the body has not ended; true with <paramref name="read"/>
    /// 0 at its end (the trailers are then in <see cref="Trailers"/>).
    /// </summary>
    public bool TryReadBody(Span<byte> destination, out int read)
    {
        int credit;
        lock (_connection.SyncRoot)
        {
            var buffered = _bodyEnd - _bodyStart;
            if (buffered == 0)
            {
                read = 0;
                if (ResponseEnded)
                    return true;
                if (Error is not null)
                    ThrowIfFailed();
                return false;
            }
            read = Math.Min(buffered, destination.Length);
            _body.AsSpan(_bodyStart, read).CopyTo(destination);
            _bodyStart += read;
            if (_bodyStart == _bodyEnd)
                _bodyStart = _bodyEnd = 0;
            _unacknowledged += read;
            credit = _connection.TakeStreamCredit(this, ref _unacknowledged);
        }
        if (credit > 0)
            _connection.RequestSend();
        return true;
    }

    /// <summary>Waits until body bytes are buffered, the body ended, or the stream failed.</summary>
    public async ValueTask WaitForBodyAsync()
    {
        while (true)
        {
            lock (_connection.SyncRoot)
            {
                if (_bodyEnd > _bodyStart || ResponseEnded)
                    return;
                ThrowIfFailed();
                _response.Arm();
            }
            await _response.WaitAsync();
        }
    }

    /// <summary>Writes request body bytes (flow-controlled), ending the request when <paramref name="endStream"/> is set.</summary>
    public ValueTask WriteAsync(ReadOnlySequence<byte> data, bool endStream) => _connection.WriteDataAsync(this, data, endStream);

    /// <summary>Ends the request without more data.</summary>
    public ValueTask EndRequestAsync() => _connection.WriteDataAsync(this, ReadOnlySequence<byte>.Empty, endStream: true);

    /// <summary>
    /// Cancels the exchange: resets the stream (CANCEL) and fails the consumer's current and
    /// next waits. Safe to call from any thread, any number of times; the consumer is resumed on
    /// the thread pool, never inside the caller.
    /// </summary>
    public void Cancel() => _connection.ResetStream(this, Http2ErrorCode.Cancel, new OperationCanceledException("The call was cancelled."), wakeOnThreadPool: true);

    /// <summary>Ends the exchange: resets it if either side is still open and frees its buffers.</summary>
    public void Dispose() => _connection.CloseStream(this);

    /// <summary>Hands the body buffer back for the pool as the stream closes (under the lock).</summary>
    internal byte[]? TakeBodyBuffer()
    {
        var body = _body;
        _body = null;
        _bodyStart = _bodyEnd = 0;
        return body;
    }

    /// <summary>Prepares the writer's wait for send window; call under the lock, then await <see cref="WaitForWindowAsync"/> outside it.</summary>
    internal void ArmWindowWait()
    {
        _window ??= new Http2Signal(_connection.SyncRoot);
        _window.Arm();
        WaitingForWindow = true;
    }

    internal ValueTask WaitForWindowAsync() => _window!.WaitAsync();

    internal void ThrowIfFailed()
    {
        if (Error is { } error)
            throw Wrap(error);
    }
    /// <summary>A fresh exception each time (the stored one may be thrown on several paths).</summary>
    private static Exception Wrap(Exception error) => error switch
    {
        Http2StreamException stream => new Http2StreamException(stream.ErrorCode, stream.Message),
        Http2ConnectionException connection => new Http2ConnectionException(connection.Message, connection.ErrorCode, connection.InnerException),
        OperationCanceledException => new OperationCanceledException(error.Message),
        _ => new IOException(error.Message, error),
    };
}
