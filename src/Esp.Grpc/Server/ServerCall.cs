using System.Buffers;
using System.Net.Sockets;
using Esp.Grpc.Protocol;
using Google.Protobuf;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;

namespace Esp.Grpc.Server;

/// <summary>
/// One server call from request headers to status: reads the call's settings, runs the handler,
/// writes messages and ends with exactly one status. Writes and the end are serialized by one
/// gate, because the deadline timer may end the call while the handler is still writing.
/// </summary>
internal sealed class ServerCall : IDisposable
{
    private static readonly Status HandlerFailedStatus = new(StatusCode.Unknown, "Exception was thrown by handler.");
    private static readonly Status DeadlineExceededStatus = new(StatusCode.DeadlineExceeded, "Deadline Exceeded");
    private static readonly Status UnaryWithoutMessageStatus =
        new(StatusCode.Unimplemented, "The request ended without a message; a unary request carries exactly one.");
    private static readonly Status UnaryWithSeveralMessagesStatus =
        new(StatusCode.Unimplemented, "The request carried more than one message; a unary request carries exactly one.");
    private static readonly Status CallEndedStatus = new(StatusCode.Cancelled, "The call has already ended.");

    private readonly GrpcServerOptions _options;
    private readonly ILogger _logger;
    private readonly string _method;
    private readonly SemaphoreSlim _writeGate = new(1, 1);
    private CancellationTokenSource? _callCancellation;
    private ITimer? _deadlineTimer;
    private Task? _deadlineEnd;
    private TimeSpan _timeout;
    private string? _requestEncoding;
    private bool _headersPrepared;
    private bool _compressResponses;
    private bool _completed;
    private volatile bool _deadlineExceeded;

    public ServerCall(HttpContext httpContext, string method, GrpcServerOptions options, ILogger logger)
    {
        HttpContext = httpContext;
        _method = method;
        _options = options;
        _logger = logger;
    }

    public HttpContext HttpContext { get; }

    public ServerCallContext Context { get; private set; } = null!;

    public async Task RunAsync(IServerMethod method)
    {
        if (TryStart() is { } rejected)
        {
            GrpcServerLog.CallRejected(_logger, _method, rejected.Code, rejected.Detail);
            await EndAsync(rejected, null);
            return;
        }

        try
        {
            await method.InvokeAsync(this);
            await EndAsync(Context.Status, Context.ResponseTrailers);
        }
        catch (Exception ex)
        {
            await EndAfterErrorAsync(ex);
        }
        finally
        {
            if (_deadlineTimer is not null)
                await _deadlineTimer.DisposeAsync();
            if (_deadlineEnd is not null)
                await _deadlineEnd;
        }
    }

    public void Dispose()
    {
        _callCancellation?.Dispose();
        _writeGate.Dispose();
    }

    /// <summary>Reads the call's settings from the request headers; a status when they are unusable.</summary>
    private Status? TryStart()
    {
        var request = HttpContext.Request;
        var deadline = DateTime.MaxValue;
        var timeoutHeader = request.Headers[GrpcProtocol.TimeoutHeader];
        if (timeoutHeader.Count > 0)
        {
            if (!GrpcTimeout.TryParse(timeoutHeader.ToString(), out _timeout))
                return new Status(StatusCode.Internal, $"Invalid grpc-timeout '{timeoutHeader}': expected 1-8 digits and a unit (H, M, S, m, u, n).");
            if (_timeout <= GrpcTimeout.MaxTimerDuration)
                deadline = _options.TimeProvider.GetUtcNow().UtcDateTime + _timeout;
        }

        _requestEncoding = request.Headers[GrpcProtocol.EncodingHeader].ToString();
        if (!MessageCompression.IsSupported(_requestEncoding))
            return MessageCompression.UnsupportedEncoding(_requestEncoding);

        // The handler's metadata is built when it first asks (ServerCallContext.RequestHeaders), as
        // grpc-dotnet does; a binary header that is not base64 still fails the call before it runs.
        foreach (var header in request.Headers)
        {
            if (Metadata.IsBinaryKey(header.Key) && !MetadataHeaders.TryAdd(new Metadata(), header.Key, header.Value))
                return MetadataHeaders.InvalidBinaryHeader(header.Key);
        }

        // A stream may be long; the per-request body limit is for HTTP uploads, not gRPC calls.
        var bodySize = HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (bodySize is { IsReadOnly: false })
            bodySize.MaxRequestBodySize = null;

        _callCancellation = CancellationTokenSource.CreateLinkedTokenSource(HttpContext.RequestAborted);
        Context = new ServerCallContext(this, _method, deadline, _callCancellation.Token);
        if (deadline != DateTime.MaxValue)
            _deadlineTimer = _options.TimeProvider.CreateTimer(static s => ((ServerCall)s!).OnDeadline(), this, _timeout, Timeout.InfiniteTimeSpan);
        return null;
    }

    private void OnDeadline()
    {
        _deadlineExceeded = true;
        GrpcServerLog.DeadlineExceeded(_logger, _method, _timeout);
        _deadlineEnd = EndAsync(DeadlineExceededStatus, null);
        try
        {
            _callCancellation!.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The call ended as the timer fired.
        }
    }

    private Task EndAfterErrorAsync(Exception ex)
    {
        if (_deadlineExceeded)
            return EndAsync(DeadlineExceededStatus, null);
        if (HttpContext.RequestAborted.IsCancellationRequested || _callCancellation?.IsCancellationRequested == true)
        {
            // The caller reset the stream: there is nobody to send a status to.
            GrpcServerLog.CallCancelled(_logger, _method);
            return Task.CompletedTask;
        }
        if (ex is RpcException rpc)
        {
            var trailers = Context?.ResponseTrailers ?? new Metadata();
            foreach (var entry in rpc.Trailers)
                trailers.Add(entry);
            return EndAsync(rpc.Status, trailers);
        }
        GrpcServerLog.HandlerFailed(_logger, _method, ex);
        return EndAsync(HandlerFailedStatus, null);
    }

    /// <summary>Ends the call with its status, once; later calls do nothing.</summary>
    private async Task EndAsync(Status status, Metadata? trailers)
    {
        await _writeGate.WaitAsync();
        try
        {
            if (_completed)
                return;
            _completed = true;
            var response = HttpContext.Response;
            if (response.HasStarted)
            {
                GrpcResponses.AppendTrailers(response, status, trailers);
            }
            else
            {
                PrepareHeaders();
                GrpcResponses.SetTrailersOnly(response, status, trailers);
            }
            await response.CompleteAsync();
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or InvalidOperationException)
        {
            GrpcServerLog.EndFailed(_logger, _method, ex);
        }
        finally
        {
            _writeGate.Release();
        }
    }

    public async Task<T> ReadSingleRequestAsync<T>(MessageParser<T> parser)
        where T : class, IMessage<T>
    {
        var message = await ReadRequestAsync(parser, Context.CancellationToken)
            ?? throw new RpcException(UnaryWithoutMessageStatus);
        if (await ReadRequestAsync(parser, Context.CancellationToken) is not null)
            throw new RpcException(UnaryWithSeveralMessagesStatus);
        return message;
    }

    public async ValueTask<T?> ReadRequestAsync<T>(MessageParser<T> parser, CancellationToken cancellationToken)
        where T : class, IMessage<T>
    {
        try
        {
            return await PipeMessageReader.ReadMessageAsync(HttpContext.Request.BodyReader, parser, _requestEncoding, _options.MaxReceiveMessageSize, cancellationToken);
        }
        catch (Exception ex) when (ex is IOException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw CallerGone(ex);
        }
    }

    /// <summary>
    /// Kestrel fails the body (an IOException, or a ConnectionAbortedException) when the caller
    /// resets the stream, and raises RequestAborted a moment later. Cancel the call now, so the handler sees one consistent
    /// picture: its token is cancelled and the exception is a cancellation.
    /// </summary>
    private OperationCanceledException CallerGone(Exception ex)
    {
        try
        {
            _callCancellation!.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
        return new OperationCanceledException("The caller cancelled the call or went away.", ex, Context.CancellationToken);
    }

    public async Task WriteResponseAsync(IMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        await _writeGate.WaitAsync(cancellationToken);
        try
        {
            if (_completed)
                throw new RpcException(CallEndedStatus);
            PrepareHeaders();
            var writer = HttpContext.Response.BodyWriter;
            if (_compressResponses)
            {
                using var frame = MessageSerializer.SerializeFrame(message, compress: true);
                writer.Write(frame.Memory.Span);
            }
            else
            {
                var size = message.CalculateSize();
                var span = writer.GetSpan(MessageFraming.HeaderSize + size);
                MessageFraming.WriteHeader(span, compressed: false, size);
                message.WriteTo(span.Slice(MessageFraming.HeaderSize, size));
                writer.Advance(MessageFraming.HeaderSize + size);
            }
            var flush = await writer.FlushAsync(cancellationToken);
            if (flush.IsCanceled)
                throw new OperationCanceledException(cancellationToken);
        }
        catch (Exception ex) when (ex is IOException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw CallerGone(ex);
        }
        finally
        {
            _writeGate.Release();
        }
    }

    public async Task WriteResponseHeadersAsync(Metadata responseHeaders)
    {
        ArgumentNullException.ThrowIfNull(responseHeaders);
        await _writeGate.WaitAsync(Context.CancellationToken);
        try
        {
            if (_completed || _headersPrepared)
                throw new InvalidOperationException("Response headers can be sent once, before any response message.");
            PrepareHeaders();
            foreach (var entry in MetadataHeaders.Sendable(responseHeaders))
                HttpContext.Response.Headers.Append(entry.Key, entry.Value);
            await HttpContext.Response.StartAsync(Context.CancellationToken);
            await HttpContext.Response.BodyWriter.FlushAsync(Context.CancellationToken);
        }
        finally
        {
            _writeGate.Release();
        }
    }

    private void PrepareHeaders()
    {
        if (_headersPrepared)
            return;
        _headersPrepared = true;
        var response = HttpContext.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = GrpcProtocol.ContentType;
        response.Headers[GrpcProtocol.AcceptEncodingHeader] = GrpcProtocol.SupportedEncodings;
        var wantsCompression = _options.CompressResponses || Context?.CompressResponses == true;
        _compressResponses = wantsCompression && MessageCompression.AcceptsGzip(HttpContext.Request.Headers[GrpcProtocol.AcceptEncodingHeader]);
        if (_compressResponses)
            response.Headers[GrpcProtocol.EncodingHeader] = GrpcProtocol.GzipEncoding;
    }

    public static string FormatPeer(HttpContext context)
    {
        var connection = context.Connection;
        return connection.RemoteIpAddress switch
        {
            null => "unknown",
            { AddressFamily: AddressFamily.InterNetworkV6 } ip => $"ipv6:[{ip}]:{connection.RemotePort}",
            var ip => $"ipv4:{ip}:{connection.RemotePort}",
        };
    }
}
