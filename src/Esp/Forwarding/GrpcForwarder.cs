using System.Diagnostics;
using Esp.Config;
using Esp.Grpc;
using Esp.Grpc.Protocol;
using Esp.Grpc.Server;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Esp.Forwarding;

/// <summary>
/// Forwards one gRPC call to its backend and the answer back, without parsing messages:
/// <list type="number">
/// <item>work out the deadline: the caller's <c>grpc-timeout</c>, bounded by the backend rule's;</item>
/// <item>send the request with the caller's headers (minus hop-by-hop and proxy-owned ones) and
/// its body streamed as it arrives;</item>
/// <item>when the backend's headers come, check they are gRPC and pass them on (a Trailers-Only
/// answer stays Trailers-Only);</item>
/// <item>stream the backend's body to the caller, flushing as it arrives;</item>
/// <item>pass the trailers on.</item>
/// </list>
/// A failure at any step ends the call with the status it deserves; a caller that goes away
/// resets the backend stream, and a deadline does both.
/// </summary>
internal sealed partial class GrpcForwarder(BackendClients backends, TimeProvider time, ILogger<GrpcForwarder> logger, ILoggerFactory loggers, BackendIdTokens? idTokens = null)
{
    private readonly ILogger _accessLog = loggers.CreateLogger(AccessLogCategory);

    /// <summary>Each method's backend URI, made once (the model is immutable, so its records serve as keys).</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<MethodPolicy, Uri> _targets = new(ReferenceEqualityComparer.Instance);

    /// <summary>The access log's logger category: <c>--access_log=off</c> filters it out.</summary>
    public const string AccessLogCategory = "Esp.AccessLog";

    /// <param name="caller">Who called, for the backend: the JWT's user info and the API key's consumer, when checked.</param>
    public async Task ForwardAsync(HttpContext context, MethodPolicy method, CallerIdentity caller)
    {
        var started = Stopwatch.GetTimestamp();
        var call = new CallRecord(method.Path, method.Backend.Address);
        try
        {
            await ForwardCoreAsync(context, method, caller, call);
        }
        finally
        {
            LogAccess(_accessLog, call.Method, call.Backend, call.Status?.Code.ToString() ?? "reset by caller",
                Stopwatch.GetElapsedTime(started).TotalMilliseconds, call.BytesIn, call.BytesOut);
        }
    }

    private async Task ForwardCoreAsync(HttpContext context, MethodPolicy method, CallerIdentity caller, CallRecord call)
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

        // (2) The request.
        var content = new StreamingRequestContent(context.Request.BodyReader, context.Request.ContentType);
        using var request = CreateBackendRequest(context, method, content, timeout, caller);
        HttpResponseMessage response;
        try
        {
            response = await backends.For(route.BaseUri).SendAsync(request, cancellation);
        }
        catch (Exception ex)
        {
            call.BytesIn = content.BytesSent;
            if (CallerGone(context, deadline, content))
                return;
            var status = deadline?.IsCancellationRequested == true
                ? DeadlineExceeded(timeout!.Value)
                : BackendFailure(route, ex);
            LogBackendFailed(logger, method.Path, route.Address, status.Code, status.Detail);
            await EndTrailersOnlyAsync(context, call, status);
            return;
        }

        using (response)
        {
            // (3) The headers.
            if (!IsGrpcResponse(response, route, out var notGrpc))
            {
                call.BytesIn = content.BytesSent;
                LogBackendFailed(logger, method.Path, route.Address, notGrpc.Code, notGrpc.Detail);
                await EndTrailersOnlyAsync(context, call, notGrpc);
                return;
            }
            CopyResponseHeaders(response, context.Response);
            if (ReadStatus(response.Headers) is { } trailersOnly)
            {
                // The backend ended the call in its headers: so do we, in one HEADERS frame.
                call.BytesIn = content.BytesSent;
                call.Status = trailersOnly;
                await context.Response.CompleteAsync();
                return;
            }

            // (4) The body.
            try
            {
                call.BytesOut = await CopyResponseBodyAsync(response, context.Response, cancellation);
            }
            catch (Exception ex)
            {
                call.BytesIn = content.BytesSent;
                if (CallerGone(context, deadline, content))
                    return;
                var status = deadline?.IsCancellationRequested == true ? DeadlineExceeded(timeout!.Value) : BackendFailure(route, ex);
                LogBackendFailed(logger, method.Path, route.Address, status.Code, status.Detail);
                call.Status = status;
                GrpcResponses.AppendTrailers(context.Response, status, null);
                return;
            }

            // (5) The trailers.
            call.BytesIn = content.BytesSent;
            call.Status = CopyTrailers(response, context.Response);
        }
    }

    private static bool CallerGone(HttpContext context, CancellationTokenSource? deadline, StreamingRequestContent content) =>
        (context.RequestAborted.IsCancellationRequested || content.CallerFailed) && deadline?.IsCancellationRequested != true;

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

    private HttpRequestMessage CreateBackendRequest(HttpContext context, MethodPolicy method, HttpContent content, TimeSpan? timeout, CallerIdentity caller)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, _targets.GetOrAdd(method, static m => new Uri(m.Backend.BaseUri, m.Path)))
        {
            Version = System.Net.HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = content,
        };
        var headers = request.Headers;
        foreach (var header in context.Request.Headers)
        {
            if (ProxyHeaders.ForwardRequestHeader(header.Key)
                && !string.Equals(header.Key, GrpcProtocol.ContentTypeHeader, StringComparison.OrdinalIgnoreCase)
                && !string.Equals(header.Key, GrpcProtocol.TimeoutHeader, StringComparison.OrdinalIgnoreCase))
            {
                headers.TryAddWithoutValidation(header.Key, (IEnumerable<string?>)header.Value);
            }
        }
        headers.TryAddWithoutValidation(GrpcProtocol.TeHeader, GrpcProtocol.TeTrailers);
        if (timeout is { } t)
            headers.TryAddWithoutValidation(GrpcProtocol.TimeoutHeader, GrpcTimeout.Format(t));
        if (caller.UserInfo is not null)
            headers.TryAddWithoutValidation(ProxyHeaders.UserInfo, caller.UserInfo);
        if (caller.ApiKey is { } key)
        {
            headers.TryAddWithoutValidation(ProxyHeaders.ConsumerType, ProxyHeaders.ServiceSpecificConsumer);
            headers.TryAddWithoutValidation(ProxyHeaders.ConsumerNumber, key.ConsumerNumber);
            headers.TryAddWithoutValidation(ProxyHeaders.ConsumerName, key.Consumer);
        }
        if (method.Backend is { JwtAudience: { } audience, DisableAuth: false } && idTokens is not null)
        {
            // Backend authentication: the proxy speaks for itself; the caller's credential moves aside.
            if (context.Request.Headers.Authorization is { Count: > 0 } callerAuthorization)
                headers.TryAddWithoutValidation(ProxyHeaders.ForwardedAuthorization, (IEnumerable<string?>)callerAuthorization);
            headers.Remove("authorization");
            headers.TryAddWithoutValidation("authorization", "Bearer " + idTokens.For(audience));
        }
        return request;
    }

    private static bool IsGrpcResponse(HttpResponseMessage response, BackendRoute route, out Status status)
    {
        status = default;
        var contentType = response.Content.Headers.ContentType?.ToString();
        if (response.StatusCode == System.Net.HttpStatusCode.OK
            && (GrpcProtocol.IsGrpcContentType(contentType) || response.Headers.Contains(GrpcProtocol.StatusTrailer)))
        {
            return true;
        }
        var code = (int)response.StatusCode;
        status = new Status(HttpStatusMapping.FromHttpStatus(code),
            $"The backend {route.Address} answered HTTP {code} ({contentType ?? "no content-type"}), not gRPC.");
        return false;
    }

    private static void CopyResponseHeaders(HttpResponseMessage response, HttpResponse target)
    {
        target.StatusCode = StatusCodes.Status200OK;
        var headers = target.Headers;
        foreach (var header in response.Headers.NonValidated)
        {
            if (ProxyHeaders.ForwardResponseHeader(header.Key))
                headers.Append(header.Key, header.Value.ToString());
        }
        foreach (var header in response.Content.Headers.NonValidated)
        {
            if (ProxyHeaders.ForwardResponseHeader(header.Key))
                headers.Append(header.Key, header.Value.ToString());
        }
    }

    /// <summary>
    /// Streams the body as it arrives, straight into the caller's response buffers. What is
    /// written is flushed only when the backend has nothing more ready: a unary answer (headers,
    /// message, trailers arriving together) goes out in one write, while a stream whose next
    /// message is not there yet is never held back, and neither are headers that come first.
    /// </summary>
    private static async Task<long> CopyResponseBodyAsync(HttpResponseMessage response, HttpResponse target, CancellationToken cancellationToken)
    {
        var source = await response.Content.ReadAsStreamAsync(cancellationToken);
        var writer = target.BodyWriter;
        long total = 0;
        var unflushed = false;
        while (true)
        {
            // A zero-byte read waits for data without holding a buffer: idle streams cost nothing.
            var ready = source.ReadAsync(Memory<byte>.Empty, cancellationToken);
            if (!ready.IsCompleted)
            {
                if (unflushed)
                    await FlushAsync(writer, cancellationToken);
                else if (!target.HasStarted)
                    await target.StartAsync(cancellationToken);
                unflushed = false;
            }
            _ = await ready;
            // Kestrel's pool hands out 4 KiB blocks; a larger hint makes the pipe rent from the shared ArrayPool.
            var memory = writer.GetMemory(4096);
            var read = await source.ReadAsync(memory, cancellationToken);
            if (read == 0)
                return total;
            writer.Advance(read);
            total += read;
            unflushed = true;
        }
    }

    private static async Task FlushAsync(System.IO.Pipelines.PipeWriter writer, CancellationToken cancellationToken)
    {
        var flush = await writer.FlushAsync(cancellationToken);
        if (flush.IsCanceled)
            throw new OperationCanceledException(cancellationToken);
    }

    private static Status CopyTrailers(HttpResponseMessage response, HttpResponse target)
    {
        foreach (var trailer in response.TrailingHeaders.NonValidated)
        {
            if (ProxyHeaders.ForwardResponseHeader(trailer.Key))
                target.AppendTrailer(trailer.Key, trailer.Value.ToString());
        }
        if (ReadStatus(response.TrailingHeaders) is { } status)
            return status;
        var missing = new Status(StatusCode.Unknown, "The backend's response ended without a grpc-status.");
        GrpcResponses.AppendTrailers(target, missing, null);
        return missing;
    }

    private static Status? ReadStatus(System.Net.Http.Headers.HttpHeaders headers)
    {
        if (!headers.NonValidated.TryGetValues(GrpcProtocol.StatusTrailer, out var values))
            return null;
        // An unparseable status passes through as is; for the log it counts as UNKNOWN.
        _ = GrpcProtocol.TryParseStatus(values.ToString(), out var code);
        var message = headers.NonValidated.TryGetValues(GrpcProtocol.MessageTrailer, out var messages) ? PercentEncoding.Decode(messages.ToString()) : "";
        return new Status(code, message);
    }

    private static Status DeadlineExceeded(TimeSpan timeout) =>
        new(StatusCode.DeadlineExceeded, $"Deadline Exceeded: the backend did not finish within {timeout.TotalMilliseconds:0.###} ms.");

    /// <summary>What the caller is told when the backend could not be reached or broke off.</summary>
    internal static Status BackendFailure(BackendRoute route, Exception exception)
    {
        for (var inner = exception; inner is not null; inner = inner.InnerException)
        {
            if (inner is HttpProtocolException reset)
            {
                return new Status(HttpStatusMapping.FromHttp2ErrorCode(reset.ErrorCode),
                    $"The backend {route.Address} reset the stream ({HttpStatusMapping.Http2ErrorName(reset.ErrorCode)}).");
            }
        }
        return exception switch
        {
            HttpRequestException request => new Status(StatusCode.Unavailable, $"The backend {route.Address} is unavailable: {request.Message}"),
            IOException io => new Status(StatusCode.Unavailable, $"The connection to the backend {route.Address} failed: {io.Message}"),
            OperationCanceledException => new Status(StatusCode.Unavailable, $"The backend {route.Address} did not answer in time (connect timeout)."),
            _ => new Status(StatusCode.Internal, $"Forwarding to the backend {route.Address} failed: {exception.GetType().Name}."),
        };
    }

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
}
