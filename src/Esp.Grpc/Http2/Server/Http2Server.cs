using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Esp.Grpc.Http2.Server;

/// <summary>Limits and timeouts of <see cref="Http2Server"/>; the defaults are what the proxy runs with.</summary>
internal sealed record Http2ServerOptions
{
    /// <summary>SETTINGS_MAX_CONCURRENT_STREAMS. A stream counts until the application is done with it, even after the client reset it.</summary>
    public int MaxConcurrentStreams { get; init; } = 100;

    /// <summary>SETTINGS_MAX_HEADER_LIST_SIZE (RFC 9113 §6.5.2 sizes): a larger request is answered 431.</summary>
    public int MaxHeaderListSize { get; init; } = 32 * 1024;

    /// <summary>SETTINGS_INITIAL_WINDOW_SIZE: what a client may send on a stream before the application reads it.</summary>
    public int StreamReceiveWindow { get; init; } = 1024 * 1024;

    /// <summary>The connection window: what a client may send on all its streams before the application reads it.</summary>
    public int ConnectionReceiveWindow { get; init; } = 8 * 1024 * 1024;

    /// <summary>The client preface and first SETTINGS must arrive within this, or the connection is closed.</summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>A connection without streams for this long is sent GOAWAY and closed (Kestrel's keep-alive timeout).</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromSeconds(130);

    public TimeProvider Time { get; init; } = TimeProvider.System;
}

/// <summary>
/// Our HTTP/2 server for cleartext (h2c, prior knowledge) listeners: accepts connections and runs
/// each request through an ASP.NET Core <see cref="RequestDelegate"/>, so the proxy's handler is
/// the same behind it as behind Kestrel.
/// </summary>
internal sealed partial class Http2Server : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly RequestDelegate _application;
    private readonly Http2ServerOptions _options;
    private readonly ILogger _logger;
    private readonly HashSet<Http2ServerConnection> _connections = [];
    private readonly Task _acceptLoop;
    private bool _stopping;

    private Http2Server(Socket listener, RequestDelegate application, Http2ServerOptions options, ILogger logger)
    {
        _listener = listener;
        _application = application;
        _options = options;
        _logger = logger;
        LocalEndPoint = (IPEndPoint)listener.LocalEndPoint!;
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    /// <summary>The bound address and port (port 0 resolved).</summary>
    public IPEndPoint LocalEndPoint { get; }

    /// <summary>Binds <paramref name="endpoint"/> and starts accepting.</summary>
    public static Http2Server Start(IPEndPoint endpoint, RequestDelegate application, Http2ServerOptions options, ILogger logger)
    {
        var listener = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (endpoint.AddressFamily == AddressFamily.InterNetworkV6 && endpoint.Address.Equals(IPAddress.IPv6Any))
                listener.DualMode = true;
            listener.Bind(endpoint);
            listener.Listen(512);
        }
        catch (Exception)
        {
            listener.Dispose();
            throw;
        }
        return new Http2Server(listener, application, options, logger);
    }

    private async Task AcceptLoopAsync()
    {
        while (true)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptAsync();
            }
            catch (Exception) when (Volatile.Read(ref _stopping))
            {
                return;
            }
            catch (SocketException ex)
            {
                LogAcceptFailed(_logger, ex.SocketErrorCode.ToString());
                continue;
            }
            socket.NoDelay = true;
            var connection = Http2ServerConnection.Start(new NetworkStream(socket, ownsSocket: true),
                socket.LocalEndPoint as IPEndPoint, socket.RemoteEndPoint as IPEndPoint, _application, _options, _logger);
            bool stopping;
            lock (_connections)
            {
                stopping = _stopping;
                _connections.Add(connection);
            }
            if (stopping)
                connection.BeginShutdown();
            _ = ForgetWhenClosedAsync(connection);
        }
    }

    private async Task ForgetWhenClosedAsync(Http2ServerConnection connection)
    {
        await connection.Closed;
        lock (_connections)
            _connections.Remove(connection);
    }

    /// <summary>
    /// Stops accepting, sends every connection GOAWAY (streams it has not started are refused) and
    /// waits for the streams in flight; when <paramref name="cancellationToken"/> fires first, the
    /// rest are aborted. Connections are closed at the end.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        Http2ServerConnection[] connections;
        lock (_connections)
        {
            _stopping = true;
            connections = [.. _connections];
        }
        _listener.Dispose();
        await _acceptLoop;
        foreach (var connection in connections)
            connection.BeginShutdown();
        var all = Task.WhenAll(connections.Select(c => c.Closed));
        try
        {
            await all.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            foreach (var connection in connections)
                connection.Abort("The server is stopping.");
            await all;
        }
    }

    /// <summary>Stops at once (calls in flight are aborted).</summary>
    public async ValueTask DisposeAsync()
    {
        using var stopped = new CancellationTokenSource();
        await stopped.CancelAsync();
        await StopAsync(stopped.Token);
    }

    [LoggerMessage(24, LogLevel.Warning, "Accepting a connection failed: {Error}", EventName = "AcceptFailed")]
    private static partial void LogAcceptFailed(ILogger logger, string error);
}
