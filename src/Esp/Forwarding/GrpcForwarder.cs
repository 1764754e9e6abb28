using System.Buffers;
using System.Diagnostics;
using Esp.Config;
using Esp.Grpc;
using Esp.Grpc.Http2;
using Esp.Grpc.Http2.Hpack;
using Esp.Grpc.Http2.Server;
using Esp.Grpc.Protocol;
using Esp.Grpc.Server;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;

namespace Esp.Forwarding;

/// <summary>
/// Forwards one gRPC call to its backend and the answer back, without parsing messages:
/// <list type="number">
/// <item>work out the deadline: the caller's <c>grpc-timeout</c>, bounded by the backend rule's;</item>
/// <item>send the request over our HTTP/2 client (<see cref="Http2ConnectionPool"/>) with the
/// caller's headers (minus hop-by-hop and proxy-owned ones) and its body: with the headers when
/// the caller has sent all of it (a unary call: retried once if the backend refuses the stream
/// unprocessed), else streamed as it arrives;</item>
/// <item>when the backend's headers come, check they are gRPC and pass them on (a Trailers-Only
/// answer stays Trailers-Only);</item>
/// <item>stream the backend's body to the caller, flushing as it arrives;</item>
/// <item>pass the trailers on.</item>
/// </list>
/// A failure at any step ends the call with the status it deserves; a caller that goes away
/// resets the backend stream, and a deadline does both.
/// </summary>
internal sealed partial class GrpcForwarder(BackendClients backends, ForwardingLimits limits, TimeProvider time, ILogger<GrpcForwarder> logger, ILoggerFactory loggers,
    BackendIdTokens? idTokens = null)
{
    private readonly ILogger _accessLog = loggers.CreateLogger(AccessLogCategory);

    /// <summary>The access log's logger category: <c>--access_log=off</c> filters it out.</summary>
    public const string AccessLogCategory = "Esp.AccessLog";

    /// <param name="caller">Who called, for the backend: the JWT's user info and the API key's consumer, when checked.</param>
    /// <remarks>
    /// One async method from the caller's headers to the trailers: each further frame that waits
    /// for the backend would cost every call a state machine on the heap and one more hop when
    /// the answer comes.
    /// </remarks>
    public async Task ForwardAsync(HttpContext context, MethodPolicy method, CallerIdentity caller)
    {
        var started = Stopwatch.GetTimestamp();
        var call = new CallRecord(method.Path, method.Backend.Address);
        try
        {
            var route = method.Backend;

            // (1) The deadline.
            if (!TryGetTimeout(context.Request, route, out var timeout, out var invalidTimeout))
            {
                await EndTrailersOnlyAsync(context, call, invalidTimeout);
                return;
            }
            // Without a deadline the caller's abort is the only cancel: no extra sources per call.
            using var deadline = timeout is { } t && t <= GrpcTimeout.MaxTimerDuration ? new CancellationTokenSource(t, time) : null;
            using var linked = deadline is null ? null : CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, deadline.Token);
            var cancellation = linked?.Token ?? context.RequestAborted;

            // (2) The request: its headers, and with them the body if the caller has sent all of it.
            var body = new RequestBodyPump(context.Request.BodyReader);
            bool complete;
            ReadOnlySequence<byte> completeBody;
            try
            {
                complete = body.TryTakeComplete(out completeBody);
                if (!complete && method.Kind is MethodType.Unary or MethodType.ServerStreaming)
                {
                    switch (await body.WaitForCompleteAsync(CompleteBodyLimit, limits.RequestMessageTimeout, time, cancellation))
                    {
                        case BodyWait.Complete:
                            complete = body.TryTakeComplete(out completeBody);
                            break;
                        case BodyWait.Stalled:
                            LogCallerStalled(logger, method.Path, limits.RequestMessageTimeout.TotalSeconds);
                            await EndTrailersOnlyAsync(context, call, RequestMessageStalled(limits.RequestMessageTimeout));
                            return;
                    }
                }
            }
            catch (Exception) when (body.CallerFailed || cancellation.IsCancellationRequested)
            {
                if (!CallerGone(context, deadline, body))
                    await EndTrailersOnlyAsync(context, call, DeadlineExceeded(timeout!.Value));
                return;
            }

            var request = new BackendRequest(context, timeout, caller, BackendAuthorization(method));
            var backend = backends.For(route.BaseUri);
            // The backend stream: a second attempt only when the first was refused unprocessed.
            for (var attempt = 1; ; attempt++)
            {
                Http2ClientStream stream;
                try
                {
                    stream = await OpenAsync(backend, method.Path, request, complete ? completeBody : null, cancellation);
                }
                catch (Exception ex) when (MaySendAgain(ex, complete, attempt))
                {
                    continue;
                }
                catch (Exception ex)
                {
                    await FailAsync(context, method, call, body, deadline, timeout, ex);
                    return;
                }
                Task? pumping = null;
                using (stream)
                using (cancellation.UnsafeRegister(CancelStream, stream))
                {
                    try
                    {
                        if (!complete)
                            pumping = PumpAsync(body, stream, cancellation);

                        // (3) The headers.
                        try
                        {
                            await stream.WaitForResponseAsync();
                        }
                        catch (Exception ex) when (MaySendAgain(ex, complete, attempt))
                        {
                            continue;
                        }
                        if (complete)
                            body.Sent(completeBody);
                        if (!IsGrpcResponse(stream, route, out var notGrpc))
                        {
                            call.BytesIn = body.BytesSent;
                            LogBackendFailed(logger, method.Path, route.Address, notGrpc.Code, notGrpc.Detail);
                            await EndTrailersOnlyAsync(context, call, notGrpc);
                            return;
                        }
                        CopyResponseHeaders(stream.ResponseHeaders, context.Response);
                        if (stream.EndedWithHeaders)
                        {
                            // The backend ended the call in its headers: so do we, in one HEADERS frame.
                            call.BytesIn = body.BytesSent;
                            call.Status = ReadStatus(stream.ResponseHeaders) ?? MissingStatus(context.Response);
                            await context.Response.CompleteAsync();
                            return;
                        }

                        // (4) The body.
                        call.BytesOut = await CopyResponseBodyAsync(stream, context.Response, cancellation);
                    }
                    catch (Exception ex)
                    {
                        await FailAsync(context, method, call, body, deadline, timeout, ex);
                        return;
                    }
                    finally
                    {
                        if (pumping is not null)
                            await StopPumpAsync(body, stream, pumping);
                    }

                    // (5) The trailers.
                    call.BytesIn = body.BytesSent;
                    call.Status = CopyTrailers(stream.Trailers, context.Response);
                    return;
                }
            }
        }
        finally
        {
            // Checked first: the arguments (the code's name, the clock) cost every call even when the log is off.
            if (_accessLog.IsEnabled(LogLevel.Information))
            {
                LogAccess(_accessLog, call.Method, call.Backend, call.Status?.Code.ToString() ?? "reset by caller",
                    Stopwatch.GetElapsedTime(started).TotalMilliseconds, call.BytesIn, call.BytesOut);
            }
        }
    }

    /// <summary>
    /// A single-message request up to this size is read whole before the backend stream opens
    /// (the backend cannot answer before it has it anyway), so that it leaves with the headers and
    /// can be sent again if the backend refuses the stream. Larger ones are streamed.
    /// </summary>
    private const long CompleteBodyLimit = 64 * 1024;

    private static readonly Action<object?> CancelStream = static stream => ((Http2ClientStream)stream!).Cancel();

    /// <summary>
    /// Whether a call is sent once more, on another connection: a stream the backend refused
    /// without processing it (REFUSED_STREAM, or beyond the last stream of its GOAWAY: RFC 9113
    /// §8.7), the first time, when the caller's whole body was kept (a backend restarting
    /// gracefully then loses no unary call).
    /// </summary>
    private static bool MaySendAgain(Exception exception, bool completeBody, int attempt) =>
        completeBody && attempt == 1 && exception is Http2StreamException { ErrorCode: Http2ErrorCode.RefusedStream };

    /// <summary>Opens the backend stream; a body the caller has sent in full goes with the headers.</summary>
    private static async ValueTask<Http2ClientStream> OpenAsync(Http2ConnectionPool backend, string path, BackendRequest request,
        ReadOnlySequence<byte>? completeBody, CancellationToken cancellation)
    {
        var stream = await backend.StartStreamAsync(path, request, static (headers, request) => request.WriteHeaders(headers),
            endStream: false, send: completeBody is null, cancellation);
        if (completeBody is not { } sent)
            return stream;
        try
        {
            await stream.WriteAsync(sent, endStream: true);
            return stream;
        }
        catch (Exception)
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>Sends the rest of the caller's body as it comes; a caller that fails resets the backend stream.</summary>
    private static async Task PumpAsync(RequestBodyPump body, Http2ClientStream stream, CancellationToken cancellation)
    {
        try
        {
            await body.PumpAsync(stream.WriteAsync, cancellation);
        }
        catch (Exception) when (body.CallerFailed)
        {
            stream.Cancel();
        }
        catch (Exception)
        {
            // The backend stream failed: the response side reports it.
        }
    }

    /// <summary>
    /// The answer is complete (or failed): the caller's body is no longer wanted. A pump still
    /// running waits for the caller or for send window: stop both waits (the backend stream is
    /// reset if its request side is still open).
    /// </summary>
    private static async Task StopPumpAsync(RequestBodyPump body, Http2ClientStream stream, Task pumping)
    {
        if (!pumping.IsCompleted)
        {
            body.Stop();
            stream.Cancel();
        }
        await pumping;
    }

    /// <summary>Ends a call the backend did not complete: the caller's leaving, the deadline, or the backend's failure.</summary>
    private async Task FailAsync(HttpContext context, MethodPolicy method, CallRecord call, RequestBodyPump body, CancellationTokenSource? deadline, TimeSpan? timeout, Exception ex)
    {
        var route = method.Backend;
        call.BytesIn = body.BytesSent;
        if (CallerGone(context, deadline, body))
            return;
        var status = deadline?.IsCancellationRequested == true ? DeadlineExceeded(timeout!.Value) : BackendFailure(route, ex);
        LogBackendFailed(logger, method.Path, route.Address, status.Code, status.Detail);
        await EndTrailersOnlyAsync(context, call, status);
    }

    private static bool CallerGone(HttpContext context, CancellationTokenSource? deadline, RequestBodyPump body) =>
        (context.RequestAborted.IsCancellationRequested || body.CallerFailed) && deadline?.IsCancellationRequested != true;

    private static bool TryGetTimeout(HttpRequest request, BackendRoute route, out TimeSpan? timeout, out Status invalid)
    {
        timeout = route.Deadline;
        invalid = default;
        var header = request.Headers[GrpcProtocol.TimeoutHeader];
        if (header.Count == 0)
            return true;
        if (!GrpcTimeout.TryParse(header.ToString(), out var callerTimeout))
        {
            invalid = new Status(StatusCode.Internal, $"Invalid grpc-timeout '{header}': expected 1-8 digits and a unit (H, M, S, m, u, n).");
            return false;
        }
        if (timeout is null || callerTimeout < timeout)
            timeout = callerTimeout;
        return true;
    }

    /// <summary>With backend authentication, the proxy's own ID token for the backend (signed here, outside the connection's lock).</summary>
    private string? BackendAuthorization(MethodPolicy method) =>
        method.Backend is { JwtAudience: { } audience, DisableAuth: false } && idTokens is not null ? "Bearer " + idTokens.For(audience) : null;

    /// <summary>What the backend is sent besides the body: the state its header block is written from, under the connection's lock.</summary>
    /// <param name="BackendAuthorization">Set when the proxy authenticates to the backend itself: the caller's
    /// <c>authorization</c> then moves to <c>x-forwarded-authorization</c>.</param>
    private readonly record struct BackendRequest(HttpContext Context, TimeSpan? Timeout, CallerIdentity Caller, string? BackendAuthorization)
    {
        public void WriteHeaders(Http2HeaderWriter headers)
        {
            var request = Context.Request;
            headers.Write(GrpcProtocol.ContentTypeHeader, request.ContentType ?? GrpcProtocol.ContentType, HpackIndexing.Index);
            headers.Write(GrpcProtocol.TeHeader, GrpcProtocol.TeTrailers, HpackIndexing.Index);
            if (Timeout is { } t)
                headers.Write(GrpcProtocol.TimeoutHeader, GrpcTimeout.Format(t), HpackIndexing.WithoutIndexing);
            // Our HTTP/2 server's header list is walked with its own struct enumerator (no box per call).
            if (request.Headers is HeaderFieldList fields)
                WriteCallerHeaders(headers, fields.GetEnumerator());
            else
                WriteCallerHeaders(headers, request.Headers.GetEnumerator());
            if (Caller.UserInfo is not null)
                headers.Write(ProxyHeaders.UserInfo, Caller.UserInfo, HpackIndexing.Index);
            if (Caller.ApiKey is { } key)
            {
                headers.Write(ProxyHeaders.ConsumerType, ProxyHeaders.ServiceSpecificConsumer, HpackIndexing.Index);
                headers.Write(ProxyHeaders.ConsumerNumber, key.ConsumerNumber, HpackIndexing.Index);
                headers.Write(ProxyHeaders.ConsumerName, key.Consumer, HpackIndexing.Index);
            }
            if (BackendAuthorization is not null)
                headers.Write("authorization", BackendAuthorization, HpackIndexing.NeverIndex);
        }

        /// <summary>The caller's headers that cross, by <see cref="ProxyHeaders.FateOfRequestHeader"/>.</summary>
        private void WriteCallerHeaders<TEnumerator>(Http2HeaderWriter headers, TEnumerator fields)
            where TEnumerator : IEnumerator<KeyValuePair<string, StringValues>>
        {
            using (fields)
            {
                while (fields.MoveNext())
                {
                    var header = fields.Current;
                    var fate = ProxyHeaders.FateOfRequestHeader(header.Key);
                    if (fate == RequestHeaderFate.Drop)
                        continue;
                    var lowerName = ProxyHeaders.LowerCase(header.Key);
                    var indexing = fate == RequestHeaderFate.ForwardNeverIndexed ? HpackIndexing.NeverIndex : HpackIndexing.Index;
                    if (BackendAuthorization is not null && lowerName == "authorization")
                        lowerName = ProxyHeaders.ForwardedAuthorization;
                    foreach (var value in header.Value)
                        headers.Write(lowerName, value ?? "", indexing);
                }
            }
        }
    }

    private static bool IsGrpcResponse(Http2ClientStream response, BackendRoute route, out Status status)
    {
        status = default;
        var contentType = Find(response.ResponseHeaders, GrpcProtocol.ContentTypeHeader);
        if (response.StatusCode == StatusCodes.Status200OK
            && (GrpcProtocol.IsGrpcContentType(contentType) || Find(response.ResponseHeaders, GrpcProtocol.StatusTrailer) is not null))
        {
            return true;
        }
        var code = response.StatusCode;
        status = new Status(HttpStatusMapping.FromHttpStatus(code),
            $"The backend {route.Address} answered HTTP {code} ({contentType ?? "no content-type"}), not gRPC.");
        return false;
    }

    private static void CopyResponseHeaders(IReadOnlyList<KeyValuePair<string, string>> source, HttpResponse target)
    {
        target.StatusCode = StatusCodes.Status200OK;
        var headers = target.Headers;
        for (var i = 0; i < source.Count; i++)
        {
            var (name, value) = source[i];
            if (ProxyHeaders.ForwardResponseHeader(name))
                headers.Append(name, value);
        }
    }

    /// <summary>
    /// Streams the body as it arrives, straight into the caller's response buffers. What is
    /// written is flushed only when the backend has nothing more ready: a unary answer (headers,
    /// message, trailers arriving together) goes out in one write, while a stream whose next
    /// message is not there yet is never held back, and neither are headers that come first.
    /// </summary>
    private static async Task<long> CopyResponseBodyAsync(Http2ClientStream source, HttpResponse target, CancellationToken cancellationToken)
    {
        var writer = target.BodyWriter;
        long total = 0;
        var unflushed = false;
        while (true)
        {
            // Kestrel's pool hands out 4 KiB blocks; a larger hint makes the pipe rent from the shared ArrayPool.
            var memory = writer.GetMemory(4096);
            if (source.TryReadBody(memory.Span, out var read))
            {
                if (read == 0)
                    return total;
                writer.Advance(read);
                total += read;
                unflushed = true;
                continue;
            }
            if (unflushed)
                await FlushAsync(writer, cancellationToken);
            else if (!target.HasStarted)
                await target.StartAsync(cancellationToken);
            unflushed = false;
            await source.WaitForBodyAsync();
        }
    }

    private static async Task FlushAsync(System.IO.Pipelines.PipeWriter writer, CancellationToken cancellationToken)
    {
        var flush = await writer.FlushAsync(cancellationToken);
        if (flush.IsCanceled)
            throw new OperationCanceledException(cancellationToken);
    }

    private static Status CopyTrailers(IReadOnlyList<KeyValuePair<string, string>> trailers, HttpResponse target)
    {
        for (var i = 0; i < trailers.Count; i++)
        {
            var (name, value) = trailers[i];
            if (ProxyHeaders.ForwardResponseHeader(name))
                target.AppendTrailer(name, value);
        }
        return ReadStatus(trailers) ?? MissingStatus(target);
    }

    private static Status MissingStatus(HttpResponse target)
    {
        var missing = new Status(StatusCode.Unknown, "The backend's response ended without a grpc-status.");
        if (target.HasStarted)
            GrpcResponses.AppendTrailers(target, missing, null);
        else
            GrpcResponses.SetTrailersOnly(target, missing, null);
        return missing;
    }

    private static Status? ReadStatus(IReadOnlyList<KeyValuePair<string, string>> headers)
    {
        if (Find(headers, GrpcProtocol.StatusTrailer) is not { } value)
            return null;
        // An unparseable status passes through as is; for the log it counts as UNKNOWN.
        _ = GrpcProtocol.TryParseStatus(value, out var code);
        var message = Find(headers, GrpcProtocol.MessageTrailer) is { } encoded ? PercentEncoding.Decode(encoded) : "";
        return new Status(code, message);
    }

    private static string? Find(IReadOnlyList<KeyValuePair<string, string>> headers, string name)
    {
        for (var i = 0; i < headers.Count; i++)
        {
            if (headers[i].Key == name)
                return headers[i].Value;
        }
        return null;
    }

    private static Status DeadlineExceeded(TimeSpan timeout) =>
        new(StatusCode.DeadlineExceeded, $"Deadline Exceeded: the backend did not finish within {timeout.TotalMilliseconds:0.###} ms.");

    private static Status RequestMessageStalled(TimeSpan timeout) =>
        new(StatusCode.DeadlineExceeded, $"The request message did not arrive: nothing of it came for {timeout.TotalSeconds:0.###} s, so the call ended without reaching the backend.");

    /// <summary>What the caller is told when the backend could not be reached or broke off.</summary>
    internal static Status BackendFailure(BackendRoute route, Exception exception) => exception switch
    {
        Http2StreamException { ErrorCode: Http2ErrorCode.RefusedStream } refused => new Status(StatusCode.Unavailable, refused.Message.Replace("The backend", $"The backend {route.Address}", StringComparison.Ordinal)),
        Http2StreamException reset => new Status(HttpStatusMapping.FromHttp2ErrorCode((long)reset.ErrorCode),
            $"The backend {route.Address} reset the stream ({HttpStatusMapping.Http2ErrorName((long)reset.ErrorCode)})."),
        Http2ConnectionException connection => new Status(StatusCode.Unavailable, $"The backend {route.Address} is unavailable: {connection.Message}"),
        IOException io => new Status(StatusCode.Unavailable, $"The connection to the backend {route.Address} failed: {io.Message}"),
        OperationCanceledException => new Status(StatusCode.Unavailable, $"The backend {route.Address} did not answer in time (connect timeout)."),
        _ => new Status(StatusCode.Internal, $"Forwarding to the backend {route.Address} failed: {exception.GetType().Name}."),
    };

    private static async Task EndTrailersOnlyAsync(HttpContext context, CallRecord call, Status status)
    {
        call.Status = status;
        if (context.Response.HasStarted)
        {
            GrpcResponses.AppendTrailers(context.Response, status, null);
            return;
        }
        GrpcResponses.SetTrailersOnly(context.Response, status, null);
        await context.Response.CompleteAsync();
    }

    private sealed class CallRecord(string method, string backend)
    {
        public string Method { get; } = method;

        public string Backend { get; } = backend;

        public Status? Status { get; set; }

        public long BytesIn { get; set; }

        public long BytesOut { get; set; }
    }

    [LoggerMessage(1, LogLevel.Information, "{Method} → {Backend}: {StatusCode} in {DurationMs:0.0} ms, {BytesIn} bytes in, {BytesOut} bytes out", EventName = "Call")]
    private static partial void LogAccess(ILogger logger, string method, string backend, string statusCode, double durationMs, long bytesIn, long bytesOut);

    [LoggerMessage(2, LogLevel.Warning, "{Method} → {Backend} failed: {StatusCode} {Detail}", EventName = "BackendFailed")]
    private static partial void LogBackendFailed(ILogger logger, string method, string backend, StatusCode statusCode, string detail);

    [LoggerMessage(3, LogLevel.Information, "{Method}: the caller sent nothing of its request message for {Seconds:0.###} s; ended with DeadlineExceeded", EventName = "CallerStalled")]
    private static partial void LogCallerStalled(ILogger logger, string method, double seconds);
}
