using System.IO.Pipelines;
using System.Net.Http.Headers;
using Esp.Grpc.Protocol;
using Google.Protobuf;

namespace Esp.Grpc.Client;

/// <summary>
/// One client call: sends the request (a single message or a stream), receives headers, messages
/// and trailers, and settles on exactly one status. Whatever ends the call first (trailers, a
/// transport error, the deadline, a cancel) sets the status; later causes are ignored.
/// </summary>
internal sealed class ClientCall<TRequest, TResponse> : IDuplexCall<TRequest, TResponse>
    where TRequest : class, IMessage<TRequest>, new()
    where TResponse : class, IMessage<TResponse>, new()
{
    private static readonly Status DeadlineExceededStatus = new(StatusCode.DeadlineExceeded, "Deadline Exceeded");
    private static readonly Status CancelledStatus = new(StatusCode.Cancelled, "Call canceled by the client.");

    private readonly GrpcChannel _channel;
    private readonly Method<TRequest, TResponse> _method;
    private readonly CallOptions _options;
    private readonly CancellationTokenSource _cancellation = new();
    private readonly Lock _lock = new();
    private CancellationTokenSource? _deadline;
    private CancellationTokenRegistration _userCancellation;
    private RequestContent _content = null!;
    private Task<Metadata> _headers = null!;
    private HttpResponseMessage? _response;
    private PipeReader? _reader;
    private string? _responseEncoding;
    private Status? _status;
    private Metadata _trailers = new();
    private bool _requestCompleted;

    public ClientCall(GrpcChannel channel, Method<TRequest, TResponse> method, CallOptions options)
    {
        _channel = channel;
        _method = method;
        _options = options;
    }

    public Task<Metadata> ResponseHeadersAsync => _headers;

    public void Start(TRequest? request)
    {
        _content = new RequestContent(request, _channel.Options.CompressRequests);
        var httpRequest = new HttpRequestMessage(HttpMethod.Post, new Uri(_channel.Address, _method.FullName))
        {
            Version = System.Net.HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = _content,
        };
        var headers = httpRequest.Headers;
        // SocketsHttpHandler takes the TLS name (SNI and certificate check) from :authority, so the
        // override goes there, as grpc's ssl_target_name_override does.
        if (_channel.Options.ServerNameOverride is { } serverName)
            headers.Host = serverName;
        headers.TryAddWithoutValidation(GrpcProtocol.TeHeader, GrpcProtocol.TeTrailers);
        headers.TryAddWithoutValidation(GrpcProtocol.UserAgentHeader, _channel.Options.UserAgent);
        headers.TryAddWithoutValidation(GrpcProtocol.AcceptEncodingHeader, GrpcProtocol.SupportedEncodings);
        if (_channel.Options.CompressRequests)
            headers.TryAddWithoutValidation(GrpcProtocol.EncodingHeader, GrpcProtocol.GzipEncoding);
        if (_options.Headers is { } metadata)
        {
            foreach (var entry in MetadataHeaders.Sendable(metadata))
                headers.TryAddWithoutValidation(entry.Key, entry.Value);
        }

        if (_options.CancellationToken.CanBeCanceled)
            _userCancellation = _options.CancellationToken.Register(static s => ((ClientCall<TRequest, TResponse>)s!).Cancel(CancelledStatus), this);

        if (RemainingTime() is { } remaining)
        {
            if (remaining <= TimeSpan.Zero)
            {
                Finish(DeadlineExceededStatus, null);
                _headers = Task.FromException<Metadata>(new RpcException(DeadlineExceededStatus));
                httpRequest.Dispose();
                return;
            }
            headers.TryAddWithoutValidation(GrpcProtocol.TimeoutHeader, GrpcTimeout.Format(remaining));
            if (remaining <= GrpcTimeout.MaxTimerDuration)
            {
                _deadline = new CancellationTokenSource(remaining, _channel.Options.TimeProvider);
                _deadline.Token.Register(static s => ((ClientCall<TRequest, TResponse>)s!).Cancel(DeadlineExceededStatus), this);
            }
        }
        _headers = ReceiveHeadersAsync(httpRequest);
    }

    private TimeSpan? RemainingTime()
    {
        if (_options.Timeout is { } timeout)
            return timeout == Timeout.InfiniteTimeSpan ? null : timeout;
        if (_options.Deadline is { } deadline && deadline != DateTime.MaxValue)
            return deadline.ToUniversalTime() - _channel.Options.TimeProvider.GetUtcNow().UtcDateTime;
        return null;
    }

    private async Task<Metadata> ReceiveHeadersAsync(HttpRequestMessage request)
    {
        HttpResponseMessage response;
        try
        {
            response = await _channel.Invoker.SendAsync(request, _cancellation.Token);
        }
        catch (Exception ex)
        {
            throw Fail(ex, "Error starting gRPC call");
        }
        finally
        {
            request.Dispose();
        }

        lock (_lock)
        {
            if (_status is not null)
            {
                response.Dispose();
                throw new RpcException(_status.Value, _trailers);
            }
            _response = response;
        }

        var headers = ReadMetadata(response.Headers);
        if (TryReadStatus(response.Headers, out var trailersOnlyStatus))
        {
            // Trailers-Only: the status came in the headers and there is no body.
            Finish(trailersOnlyStatus, headers);
            return headers;
        }
        if (response.StatusCode != System.Net.HttpStatusCode.OK)
        {
            var code = (int)response.StatusCode;
            throw Fail(new Status(HttpStatusMapping.FromHttpStatus(code), $"Bad gRPC response. HTTP status code: {code}"));
        }
        var contentType = response.Content.Headers.ContentType?.ToString();
        if (!GrpcProtocol.IsGrpcContentType(contentType))
            throw Fail(new Status(StatusCode.Unknown, $"Bad gRPC response. Invalid content-type value: {contentType ?? "(none)"}"));
        _responseEncoding = JoinValues(response.Headers, GrpcProtocol.EncodingHeader);
        if (!MessageCompression.IsSupported(_responseEncoding))
            throw Fail(new Status(StatusCode.Internal, $"The server used an unsupported grpc-encoding '{_responseEncoding}'."));

        try
        {
            var body = await response.Content.ReadAsStreamAsync(_cancellation.Token);
            _reader = PipeReader.Create(body, new StreamPipeReaderOptions(bufferSize: 16 * 1024, minimumReadSize: 4 * 1024));
        }
        catch (Exception ex)
        {
            throw Fail(ex, "Error reading the response");
        }
        return headers;
    }

    /// <summary>The next response message; null when the call ended OK. Throws <see cref="RpcException"/> for any other end.</summary>
    public async Task<TResponse?> ReadNextAsync(CancellationToken cancellationToken)
    {
        await _headers;
        if (_status is { } ended)
            return ended.Code == StatusCode.OK ? null : throw new RpcException(ended, _trailers);

        TResponse? message;
        try
        {
            using var linked = cancellationToken.CanBeCanceled
                ? CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _cancellation.Token)
                : null;
            message = await PipeMessageReader.ReadMessageAsync(_reader!, _method.ResponseParser, _responseEncoding,
                _channel.Options.MaxReceiveMessageSize, linked?.Token ?? _cancellation.Token);
        }
        catch (RpcException ex)
        {
            // A bad frame from the server: end the call here and reset the stream.
            throw Fail(ex.Status);
        }
        catch (Exception ex)
        {
            throw Fail(ex, "Error reading the next message");
        }
        if (message is not null)
            return message;

        // End of body: the status is in the trailers.
        var trailers = _response!.TrailingHeaders;
        var status = TryReadStatus(trailers, out var trailerStatus)
            ? trailerStatus
            : new Status(StatusCode.Unknown, "The response ended without a grpc-status trailer.");
        Finish(status, ReadMetadata(trailers));
        return _status!.Value.Code == StatusCode.OK ? null : throw new RpcException(_status.Value, _trailers);
    }

    /// <summary>For unary and client-streaming calls: exactly one message, then OK.</summary>
    public async Task<TResponse> ReadSingleResponseAsync()
    {
        var message = await ReadNextAsync(CancellationToken.None)
            ?? throw FailAfterOk(new Status(StatusCode.Internal, "The server ended the call with OK but sent no response message."));
        if (await ReadNextAsync(CancellationToken.None) is not null)
            throw Fail(new Status(StatusCode.Internal, "The server sent more than one response message to a call that takes one."));
        return message;
    }

    public async Task WriteAsync(TRequest message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (_requestCompleted)
            throw new InvalidOperationException("The request stream has already been completed.");
        if (_status is { } ended)
            throw new RpcException(ended, _trailers);
        try
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _cancellation.Token);
            await _content.WriteAsync(message, linked.Token);
        }
        catch (Exception ex)
        {
            // The server may have ended the call (and reset our half of the stream) with a
            // status on its way: report that status rather than the transport's complaint.
            try
            {
                await _headers;
            }
            catch (RpcException)
            {
            }
            throw _status is { } status ? new RpcException(status, _trailers) : Fail(ex, "Error writing a request message");
        }
    }

    public Task CompleteRequestAsync()
    {
        _requestCompleted = true;
        _content.Complete();
        return Task.CompletedTask;
    }

    public Status GetStatus() =>
        _status ?? throw new InvalidOperationException("The call has not ended yet, so it has no status.");

    public Metadata GetTrailers() =>
        _status is null ? throw new InvalidOperationException("The call has not ended yet, so it has no trailers.") : _trailers;

    public void Dispose() => Cancel(CancelledStatus);

    private void Cancel(Status status)
    {
        Finish(status, null);
    }

    private RpcException Fail(Status status)
    {
        Finish(status, null);
        return new RpcException(_status!.Value, _trailers);
    }

    /// <summary>
    /// The server ended the call with OK but broke the call's contract (no response message): the
    /// OK already settled is replaced, so the exception and <see cref="GetStatus"/> agree on the failure.
    /// </summary>
    private RpcException FailAfterOk(Status status)
    {
        lock (_lock)
        {
            if (_status is { Code: StatusCode.OK })
                _status = status;
        }
        return Fail(status);
    }

    private RpcException Fail(Exception exception, string context)
    {
        Finish(StatusFromException(exception, context), null);
        return new RpcException(_status!.Value, _trailers, exception);
    }

    /// <summary>Settles the call's status (first caller wins) and releases the stream.</summary>
    private void Finish(Status status, Metadata? trailers)
    {
        HttpResponseMessage? response;
        lock (_lock)
        {
            if (_status is not null)
                return;
            _status = status;
            _trailers = trailers ?? new Metadata();
            response = _response;
        }
        _content?.Abort();
        if (status.Code != StatusCode.OK)
            _cancellation.Cancel();   // resets the stream if it is still open (RST_STREAM CANCEL)
        response?.Dispose();
        _deadline?.Dispose();
        _userCancellation.Dispose();
    }

    private Status StatusFromException(Exception exception, string context)
    {
        if (_status is { } settled)
            return settled;
        // A reset before the response headers comes wrapped in an HttpRequestException; after them, on its own.
        if (FindStreamReset(exception) is { } http2)
        {
            return new Status(HttpStatusMapping.FromHttp2ErrorCode(http2.ErrorCode),
                $"{context}: the HTTP/2 stream was reset ({HttpStatusMapping.Http2ErrorName(http2.ErrorCode)}).");
        }
        return exception switch
        {
            HttpRequestException request => new Status(StatusCode.Unavailable, $"{context}: {request.Message}"),
            IOException io => new Status(StatusCode.Unavailable, $"{context}: {io.Message}"),
            OperationCanceledException => CancelledStatus,
            _ => new Status(StatusCode.Internal, $"{context}: {exception.GetType().Name}: {exception.Message}"),
        };
    }

    private static HttpProtocolException? FindStreamReset(Exception? exception)
    {
        for (; exception is not null; exception = exception.InnerException)
        {
            if (exception is HttpProtocolException http2)
                return http2;
        }
        return null;
    }

    private static bool TryReadStatus(HttpHeaders headers, out Status status)
    {
        status = default;
        if (!headers.TryGetValues(GrpcProtocol.StatusTrailer, out var values))
            return false;
        var raw = values.FirstOrDefault();
        if (!GrpcProtocol.TryParseStatus(raw, out var code))
        {
            status = new Status(StatusCode.Unknown, $"The server sent an invalid grpc-status '{raw}'.");
            return true;
        }
        var message = JoinValues(headers, GrpcProtocol.MessageTrailer);
        status = new Status(code, message is null ? "" : PercentEncoding.Decode(message));
        return true;
    }

    private static Metadata ReadMetadata(HttpHeaders headers)
    {
        var metadata = new Metadata();
        foreach (var header in headers.NonValidated)
        {
            // A malformed binary value from the server is dropped rather than failing the call.
            MetadataHeaders.TryAdd(metadata, header.Key, header.Value);
        }
        return metadata;
    }

    private static string? JoinValues(HttpHeaders headers, string name) =>
        headers.NonValidated.TryGetValues(name, out var values) ? values.ToString() : null;
}
