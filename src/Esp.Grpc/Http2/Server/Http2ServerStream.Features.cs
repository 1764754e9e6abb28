using System.Collections;
using System.IO.Pipelines;
using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Esp.Grpc.Http2.Server;

/// <summary>The ASP.NET Core features of a request, implemented by the stream itself.</summary>
internal sealed partial class Http2ServerStream : IFeatureCollection,
    IHttpRequestFeature, IHttpRequestBodyDetectionFeature, IRequestBodyPipeFeature, IHttpRequestLifetimeFeature,
    IHttpResponseFeature, IHttpResponseBodyFeature, IHttpResponseTrailersFeature,
    IHttpConnectionFeature, IHttpResetFeature, IHttpMaxRequestBodySizeFeature
{
    private readonly HeaderFieldList _responseHeaders = new(4);
    private HeaderFieldList? _trailers;
    private Dictionary<Type, object?>? _overrides;
    private int _revision;
    private int _statusCode = StatusCodes.Status200OK;
    private bool _hasStarted;
    private bool _responseCompleted;
    private Stream? _requestStream;
    private Stream? _responseStream;
    private List<(Func<object, Task> Callback, object State)>? _onStarting;
    private List<(Func<object, Task> Callback, object State)>? _onCompleted;

    public IHeaderDictionary RequestHeaders { get; set; }

    /// <summary>Marks the response started (its headers fixed) after running the OnStarting callbacks.</summary>
    private async ValueTask RunStartingCallbacksAsync()
    {
        if (_hasStarted)
            return;
        if (_onStarting is { } callbacks)
        {
            _onStarting = null;
            for (var i = callbacks.Count - 1; i >= 0; i--)
                await callbacks[i].Callback(callbacks[i].State);
        }
        _hasStarted = true;
        _responseHeaders.IsReadOnly = true;
    }

    private async Task RunCompletedCallbacksAsync()
    {
        if (_onCompleted is not { } callbacks)
            return;
        _onCompleted = null;
        for (var i = callbacks.Count - 1; i >= 0; i--)
        {
            try
            {
                await callbacks[i].Callback(callbacks[i].State);
            }
            catch (Exception ex)
            {
                LogApplicationError(_connection.Logger, ex, Method, Path);
            }
        }
    }

    /// <summary>The status and headers to send, read under the connection's lock when the HEADERS frame is encoded.</summary>
    internal int ResponseStatusCode => _statusCode;

    internal HeaderFieldList ResponseHeaderFields => _responseHeaders;

    internal HeaderFieldList? ResponseTrailerFields => _trailers;

    // --- IFeatureCollection

    bool IFeatureCollection.IsReadOnly => false;

    int IFeatureCollection.Revision => _revision;

    object? IFeatureCollection.this[Type key]
    {
        get
        {
            if (_overrides is not null && _overrides.TryGetValue(key, out var replaced))
                return replaced;
            return IsBuiltIn(key) ? this : null;
        }
        set
        {
            (_overrides ??= [])[key] = value;
            _revision++;
        }
    }

    private static bool IsBuiltIn(Type key) =>
        key == typeof(IHttpRequestFeature) || key == typeof(IHttpResponseFeature) || key == typeof(IHttpResponseBodyFeature)
        || key == typeof(IRequestBodyPipeFeature) || key == typeof(IHttpRequestLifetimeFeature) || key == typeof(IHttpResponseTrailersFeature)
        || key == typeof(IHttpRequestBodyDetectionFeature) || key == typeof(IHttpConnectionFeature) || key == typeof(IHttpResetFeature)
        || key == typeof(IHttpMaxRequestBodySizeFeature);

    TFeature? IFeatureCollection.Get<TFeature>() where TFeature : default => (TFeature?)((IFeatureCollection)this)[typeof(TFeature)];

    void IFeatureCollection.Set<TFeature>(TFeature? instance) where TFeature : default => ((IFeatureCollection)this)[typeof(TFeature)] = instance;

    IEnumerator<KeyValuePair<Type, object>> IEnumerable<KeyValuePair<Type, object>>.GetEnumerator()
    {
        Type[] builtIn =
        [
            typeof(IHttpRequestFeature), typeof(IHttpResponseFeature), typeof(IHttpResponseBodyFeature), typeof(IRequestBodyPipeFeature),
            typeof(IHttpRequestLifetimeFeature), typeof(IHttpResponseTrailersFeature), typeof(IHttpRequestBodyDetectionFeature),
            typeof(IHttpConnectionFeature), typeof(IHttpResetFeature), typeof(IHttpMaxRequestBodySizeFeature),
        ];
        foreach (var type in builtIn)
        {
            if (_overrides is null || !_overrides.ContainsKey(type))
                yield return new(type, this);
        }
        if (_overrides is not null)
        {
            foreach (var (type, feature) in _overrides)
            {
                if (feature is not null)
                    yield return new(type, feature);
            }
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => ((IEnumerable<KeyValuePair<Type, object>>)this).GetEnumerator();

    // --- IHttpRequestFeature

    public string Protocol { get; set; } = HttpProtocol.Http2;

    public string Scheme { get; set; }

    public string Method { get; set; }

    public string PathBase { get; set; } = "";

    public string Path { get; set; }

    public string QueryString { get; set; }

    public string RawTarget { get; set; }

    IHeaderDictionary IHttpRequestFeature.Headers
    {
        get => RequestHeaders;
        set => RequestHeaders = value;
    }

    Stream IHttpRequestFeature.Body
    {
        get => _requestStream ??= _requestBody.AsStream(leaveOpen: true);
        set => _requestStream = value;
    }

    // --- IHttpRequestBodyDetectionFeature, IRequestBodyPipeFeature, IHttpMaxRequestBodySizeFeature

    bool IHttpRequestBodyDetectionFeature.CanHaveBody => !_requestEndedWithHeaders;

    PipeReader IRequestBodyPipeFeature.Reader => _requestBody;

    bool IHttpMaxRequestBodySizeFeature.IsReadOnly => true;

    long? IHttpMaxRequestBodySizeFeature.MaxRequestBodySize
    {
        get => null;
        set => throw new InvalidOperationException("Request bodies are bounded by HTTP/2 flow control here, not by a size limit.");
    }

    // --- IHttpRequestLifetimeFeature, IHttpResetFeature

    CancellationToken IHttpRequestLifetimeFeature.RequestAborted
    {
        get
        {
            // Once the source exists, Abort cancels it: no lock for the handler's later reads.
            if (Volatile.Read(ref _aborted) is { } created)
                return created.Token;
            lock (_connection.SyncRoot)
            {
                _aborted ??= new CancellationTokenSource();
                if (_abortRequested && !_aborted.IsCancellationRequested)
                    _aborted.Cancel();
                return _aborted.Token;
            }
        }
        set => throw new NotSupportedException("RequestAborted is the server's to set.");
    }

    void IHttpRequestLifetimeFeature.Abort()
    {
        _connection.ResetStream(this, Http2ErrorCode.InternalError);
        Abort("The application aborted the request.");
    }

    void IHttpResetFeature.Reset(int errorCode)
    {
        _connection.ResetStream(this, (Http2ErrorCode)errorCode);
        Abort($"The application reset the stream ({errorCode}).");
    }

    // --- IHttpResponseFeature, IHttpResponseTrailersFeature

    int IHttpResponseFeature.StatusCode
    {
        get => _statusCode;
        set
        {
            if (_hasStarted)
                throw new InvalidOperationException("StatusCode cannot be set because the response has already started.");
            _statusCode = value;
        }
    }

    string? IHttpResponseFeature.ReasonPhrase { get; set; }

    IHeaderDictionary IHttpResponseFeature.Headers
    {
        get => _responseHeaders;
        set => throw new NotSupportedException("The response headers cannot be replaced.");
    }

    [Obsolete("Use IHttpResponseBodyFeature.Stream.")]
    Stream IHttpResponseFeature.Body
    {
        get => ((IHttpResponseBodyFeature)this).Stream;
        set => throw new NotSupportedException("Replace IHttpResponseBodyFeature instead.");
    }

    bool IHttpResponseFeature.HasStarted => _hasStarted;

    void IHttpResponseFeature.OnStarting(Func<object, Task> callback, object state)
    {
        if (_hasStarted)
            throw new InvalidOperationException("The response has already started.");
        (_onStarting ??= []).Add((callback, state));
    }

    void IHttpResponseFeature.OnCompleted(Func<object, Task> callback, object state) => (_onCompleted ??= []).Add((callback, state));

    IHeaderDictionary IHttpResponseTrailersFeature.Trailers
    {
        get => _trailers ??= new HeaderFieldList(4);
        set => throw new NotSupportedException("The response trailers cannot be replaced.");
    }

    // --- IHttpResponseBodyFeature

    Stream IHttpResponseBodyFeature.Stream => _responseStream ??= _responseWriter.AsStream(leaveOpen: true);

    PipeWriter IHttpResponseBodyFeature.Writer => _responseWriter;

    void IHttpResponseBodyFeature.DisableBuffering()
    {
        // Nothing is held back beyond a flush anyway.
    }

    async Task IHttpResponseBodyFeature.StartAsync(CancellationToken cancellationToken)
    {
        if (_hasStarted)
            return;
        await RunStartingCallbacksAsync();
        await _connection.SendResponseAsync(this, end: false);
    }

    Task IHttpResponseBodyFeature.SendFileAsync(string path, long offset, long? count, CancellationToken cancellationToken) =>
        SendFileFallback.SendFileAsync(((IHttpResponseBodyFeature)this).Stream, path, offset, count, cancellationToken);

    Task IHttpResponseBodyFeature.CompleteAsync() => CompleteResponseAsync();

    // --- IHttpConnectionFeature

    string IHttpConnectionFeature.ConnectionId
    {
        get => _connection.Id;
        set => throw new NotSupportedException("The connection id is the server's.");
    }

    IPAddress? IHttpConnectionFeature.RemoteIpAddress
    {
        get => RemoteEndPoint?.Address;
        set => throw new NotSupportedException();
    }

    IPAddress? IHttpConnectionFeature.LocalIpAddress
    {
        get => LocalEndPoint?.Address;
        set => throw new NotSupportedException();
    }

    int IHttpConnectionFeature.RemotePort
    {
        get => RemoteEndPoint?.Port ?? 0;
        set => throw new NotSupportedException();
    }

    int IHttpConnectionFeature.LocalPort
    {
        get => LocalEndPoint?.Port ?? 0;
        set => throw new NotSupportedException();
    }
}
