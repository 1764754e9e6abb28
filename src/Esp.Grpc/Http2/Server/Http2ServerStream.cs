using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;

namespace Esp.Grpc.Http2.Server;

/// <summary>
/// One request on an <see cref="Http2ServerConnection"/>, and the ASP.NET Core features the
/// application sees it through (the stream is its own feature collection, as Kestrel's are).
/// Flow-control and state fields are guarded by the connection's lock.
/// </summary>
internal sealed partial class Http2ServerStream : IThreadPoolWorkItem, IHttp2SendWindow, IRequestBodyWindow
{
    private readonly Http2ServerConnection _connection;
    private readonly RequestDelegate _application;
    private readonly Http2RequestBody _requestBody;
    private readonly ResponseBodyWriter _responseWriter;
    private CancellationTokenSource? _aborted;
    private bool _abortRequested;
    private readonly bool _requestEndedWithHeaders;

    public Http2ServerStream(Http2ServerConnection connection, int id, Http2ServerConnection.RequestHeaders request, RequestDelegate application, int sendWindow, int receiveWindow,
        Http2RequestBody? requestBody, ArrayBufferWriter<byte>? responseBuffer)
    {
        _requestBody = requestBody ?? new Http2RequestBody(connection.SyncRoot);
        _requestBody.Attach(this);
        ResponseBuffer = responseBuffer ?? new ArrayBufferWriter<byte>(4096);
        _connection = connection;
        _application = application;
        Id = id;
        SendWindow = sendWindow;
        ReceiveWindow = receiveWindow;
        Method = request.Method!;
        Scheme = request.Scheme!;
        RawTarget = request.Path!;
        var query = RawTarget.IndexOf('?', StringComparison.Ordinal);
        Path = PathString.FromUriComponent(query < 0 ? RawTarget : RawTarget[..query]).Value ?? "";
        QueryString = query < 0 ? "" : RawTarget[query..];
        RequestHeaders = request.Headers;
        DeclaredContentLength = request.ContentLength;
        _requestEndedWithHeaders = request.EndsStream;
        _responseWriter = new ResponseBodyWriter(this);
        WindowSignal = new Http2Signal(connection.SyncRoot);
    }

    public int Id { get; }

    // --- Under the connection's lock.

    /// <summary>What we may still send on this stream (the client's window).</summary>
    public long SendWindow { get; set; }

    /// <summary>What the client may still send on this stream before we credit it.</summary>
    public int ReceiveWindow { get; set; }

    /// <summary>Request bytes the application consumed and we have not credited back yet.</summary>
    public int UncreditedBytes { get; set; }

    public long ReceivedBodyBytes { get; set; }

    public long? DeclaredContentLength { get; }

    /// <summary>The client ended its side (END_STREAM), or it no longer matters (reset).</summary>
    public bool RequestEnded { get; set; }

    /// <summary>The client reset the stream or the connection failed: nothing more is sent.</summary>
    public bool Aborted { get; set; }

    public bool HeadersSent { get; set; }

    public bool ResponseEnded { get; set; }

    /// <summary>The application is running (or about to): the stream counts against the concurrency limit until it is done.</summary>
    public bool Running { get; set; } = true;

    public Http2Signal WindowSignal { get; }

    public bool WaitingForWindow { get; set; }

    /// <summary>Response body bytes written by the application and not yet framed.</summary>
    public ArrayBufferWriter<byte> ResponseBuffer { get; }

    /// <summary>The application is done and the connection forgot the stream (its buffers may serve another).</summary>
    public bool Done { get; set; }

    /// <summary>The request body, reusable by another stream once the application completed it.</summary>
    public Http2RequestBody RequestBody => _requestBody;

    public int ResponseBufferSent { get; set; }

    // --- Called by the connection's read loop.

    /// <summary>Request body bytes (under the lock; never blocks: the stream's flow-control window bounds them).</summary>
    public void OnRequestData(ReadOnlySequence<byte> data) => _requestBody.Write(data);

    bool IRequestBodyWindow.CreditLocked(int count) => _connection.CreditRequestBodyLocked(this, count);

    void IRequestBodyWindow.SendCredit() => _connection.RequestSend();

    public void OnRequestEnd()
    {
        RequestEnded = true;
        _requestBody.CompleteWriting();
    }

    /// <summary>The request cannot go on (client reset, connection lost, server stopping): fail the body and fire RequestAborted. Outside the lock.</summary>
    public void Abort(string reason)
    {
        CancellationTokenSource? aborted;
        lock (_connection.SyncRoot)
        {
            if (_abortRequested || Done)
                return;
            _abortRequested = true;
            Aborted = true;
            RequestEnded = true;
            _requestBody.CompleteWriting(new IOException(reason));
            aborted = _aborted; // null: nobody holds RequestAborted yet, and its getter sees _abortRequested
        }
        WindowSignal.Wake();
        try
        {
            aborted?.Cancel();
        }
        catch (AggregateException ex)
        {
            LogApplicationError(_connection.Logger, ex, Method, Path);
        }
    }

    // --- Running the application.

    void IThreadPoolWorkItem.Execute() => _ = RunAsync();

    private async Task RunAsync()
    {
        var context = new DefaultHttpContext(this);
        try
        {
            await _application(context);
        }
        catch (Exception ex)
        {
            LogApplicationError(_connection.Logger, ex, Method, Path);
            if (!_hasStarted)
            {
                _statusCode = StatusCodes.Status500InternalServerError;
                _responseHeaders.Clear();
                _trailers?.Clear();
                ResponseBuffer.ResetWrittenCount();
            }
            else
            {
                _connection.ResetStream(this, Http2ErrorCode.InternalError);
            }
        }
        try
        {
            await CompleteResponseAsync();
        }
        catch (Exception ex)
        {
            LogApplicationError(_connection.Logger, ex, Method, Path);
            _connection.ResetStream(this, Http2ErrorCode.InternalError);
        }
        await RunCompletedCallbacksAsync();
        await _requestBody.CompleteAsync();
        _connection.OnStreamDone(this);
    }

    private async Task CompleteResponseAsync()
    {
        if (_responseCompleted)
            return;
        _responseCompleted = true;
        await RunStartingCallbacksAsync();
        await _connection.SendResponseAsync(this, end: true);
    }

    internal async ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken)
    {
        if (_responseCompleted)
            throw new InvalidOperationException("The response has already completed.");
        await RunStartingCallbacksAsync();
        cancellationToken.ThrowIfCancellationRequested();
        await _connection.SendResponseAsync(this, end: false);
        return new FlushResult(isCanceled: false, isCompleted: Aborted);
    }

    [LoggerMessage(20, LogLevel.Error, "The request {Method} {Path} failed in the application", EventName = "ApplicationError")]
    private static partial void LogApplicationError(ILogger logger, Exception exception, string method, string path);

    /// <summary>The response body as the application writes it: buffered on the stream, framed when flushed.</summary>
    private sealed class ResponseBodyWriter(Http2ServerStream stream) : PipeWriter
    {
        private bool _cancelNextFlush;

        public override bool CanGetUnflushedBytes => true;

        public override long UnflushedBytes => stream.ResponseBuffer.WrittenCount - stream.ResponseBufferSent;

        public override Memory<byte> GetMemory(int sizeHint = 0) => stream.ResponseBuffer.GetMemory(sizeHint);

        public override Span<byte> GetSpan(int sizeHint = 0) => stream.ResponseBuffer.GetSpan(sizeHint);

        public override void Advance(int bytes) => stream.ResponseBuffer.Advance(bytes);

        public override void CancelPendingFlush() => _cancelNextFlush = true;

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
        {
            if (_cancelNextFlush)
            {
                _cancelNextFlush = false;
                return new(new FlushResult(isCanceled: true, isCompleted: false));
            }
            return stream.FlushAsync(cancellationToken);
        }

        public override void Complete(Exception? exception = null)
        {
            // The response ends when the application returns (or calls CompleteAsync).
        }

        public override ValueTask CompleteAsync(Exception? exception = null) =>
            exception is null ? new(stream.CompleteResponseAsync()) : ValueTask.CompletedTask;
    }

    internal IPEndPoint? LocalEndPoint => _connection.LocalEndPoint;

    internal IPEndPoint? RemoteEndPoint => _connection.RemoteEndPoint;
}
