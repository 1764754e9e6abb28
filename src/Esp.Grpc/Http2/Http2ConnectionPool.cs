using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Esp.Grpc.Client;

namespace Esp.Grpc.Http2;

/// <summary>
/// The HTTP/2 connections to one backend (h2c, or TLS negotiating h2 by ALPN): a stream starts
/// on the first connection with room for it; when every connection is full (the server's
/// SETTINGS_MAX_CONCURRENT_STREAMS), draining or gone, one more is opened, shared by every call
/// waiting for it. A connection that fails is dropped; the next call opens a new one.
/// </summary>
internal sealed class Http2ConnectionPool : IAsyncDisposable
{
    private readonly string _host;
    private readonly int _port;
    private readonly string _authority;
    private readonly bool _tls;
    private readonly X509Certificate2Collection? _roots;
    private readonly TimeSpan _connectTimeout;
    private readonly Http2KeepAlive _keepAlive;
    private readonly List<Http2ClientConnection> _connections = [];
    private readonly Lock _sync = new();
    private Task<Http2ClientConnection>? _connecting;
    private bool _disposed;

    /// <param name="baseUri">http:// or https:// with the backend's host and port.</param>
    /// <param name="roots">For https: trust these roots instead of the system's.</param>
    /// <param name="keepAlive">When to ping quiet connections; <see cref="Http2KeepAlive.Default"/> when null.</param>
    public Http2ConnectionPool(Uri baseUri, X509Certificate2Collection? roots, TimeSpan connectTimeout, Http2KeepAlive? keepAlive = null)
    {
        _keepAlive = keepAlive ?? Http2KeepAlive.Default;
        _tls = baseUri.Scheme == Uri.UriSchemeHttps;
        _host = baseUri.IdnHost;
        _port = baseUri.Port;
        _authority = baseUri.Authority;
        _roots = roots;
        _connectTimeout = connectTimeout;
    }

    /// <summary>Connections now open (for tests and diagnostics).</summary>
    public int ConnectionCount
    {
        get
        {
            lock (_sync)
                return _connections.Count(c => !c.IsClosed);
        }
    }

    /// <summary>
    /// Starts a stream (see <see cref="Http2ClientConnection.TryStartStream"/>), connecting first if
    /// no connection has room. Throws what connecting threw (the backend is unavailable).
    /// </summary>
    public async ValueTask<Http2ClientStream> StartStreamAsync<TState>(string path, TState state, Action<Http2HeaderWriter, TState> writeHeaders,
        bool endStream, bool send, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task<Http2ClientConnection> connecting;
            lock (_sync)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                for (var i = 0; i < _connections.Count; i++)
                {
                    var connection = _connections[i];
                    if (connection.TryStartStream(path, state, writeHeaders, endStream, send) is { } stream)
                        return stream;
                    if (connection.IsClosed)
                        _connections.RemoveAt(i--);
                }
                connecting = _connecting ??= ConnectAsync();
            }
            try
            {
                await connecting.WaitAsync(cancellationToken);
            }
            finally
            {
                lock (_sync)
                {
                    if (_connecting == connecting && connecting.IsCompleted)
                        _connecting = null;
                }
            }
        }
    }

    /// <summary>
    /// Opens a connection and adds it to the pool itself, so that it is used (and disposed with
    /// the pool) even when every caller that waited for it gave up.
    /// </summary>
    private async Task<Http2ClientConnection> ConnectAsync()
    {
        try
        {
            var connection = await OpenAsync();
            bool disposed;
            lock (_sync)
            {
                disposed = _disposed;
                if (!disposed)
                    _connections.Add(connection);
            }
            if (disposed)
            {
                await connection.DisposeAsync();
                throw new ObjectDisposedException(nameof(Http2ConnectionPool));
            }
            return connection;
        }
        finally
        {
            lock (_sync)
                _connecting = null;
        }
    }

    private async Task<Http2ClientConnection> OpenAsync()
    {
        using var timeout = new CancellationTokenSource(_connectTimeout);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        Stream transport;
        try
        {
            await socket.ConnectAsync(_host, _port, timeout.Token);
            transport = new NetworkStream(socket, ownsSocket: true);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            socket.Dispose();
            throw new Http2ConnectionException($"Connecting to {_authority} timed out after {_connectTimeout.TotalSeconds:0.#} s.");
        }
        catch (SocketException ex)
        {
            socket.Dispose();
            throw new Http2ConnectionException($"Connecting to {_authority} failed: {ex.Message}.", inner: ex);
        }
        if (_tls)
            transport = await AuthenticateAsync(transport, timeout);
        return Http2ClientConnection.Start(transport, _tls ? Uri.UriSchemeHttps : Uri.UriSchemeHttp, _authority, _keepAlive);
    }

    private async Task<Stream> AuthenticateAsync(Stream transport, CancellationTokenSource timeout)
    {
        var tls = new SslStream(transport, leaveInnerStreamOpen: false);
        try
        {
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = _host,
                ApplicationProtocols = [SslApplicationProtocol.Http2],
                RemoteCertificateValidationCallback = _roots is null ? null : CustomRootTrust.Callback(_roots),
            }, timeout.Token);
        }
        catch (Exception ex)
        {
            await tls.DisposeAsync();
            var innermost = ex;
            while (innermost.InnerException is { } inner)
                innermost = inner;
            if (innermost.Message.Contains("no application protocol", StringComparison.OrdinalIgnoreCase))
                throw new Http2ConnectionException($"{_authority} did not agree to HTTP/2 in the TLS handshake (ALPN: no_application_protocol); gRPC needs HTTP/2.", inner: ex);
            var reason = ex is OperationCanceledException && timeout.IsCancellationRequested ? "timed out" : innermost.Message;
            throw new Http2ConnectionException($"The TLS handshake with {_authority} failed: {reason}", inner: ex);
        }
        if (tls.NegotiatedApplicationProtocol != SslApplicationProtocol.Http2)
        {
            await tls.DisposeAsync();
            throw new Http2ConnectionException($"{_authority} did not agree to HTTP/2 in the TLS handshake (ALPN); gRPC needs HTTP/2.");
        }
        return tls;
    }

    public async ValueTask DisposeAsync()
    {
        Http2ClientConnection[] connections;
        lock (_sync)
        {
            _disposed = true;
            connections = [.. _connections];
            _connections.Clear();
        }
        foreach (var connection in connections)
            await connection.DisposeAsync();
    }
}
