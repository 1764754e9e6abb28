using System.Security.Cryptography.X509Certificates;

namespace Esp.Grpc.Client;

/// <summary>The HTTP handler of <see cref="GrpcChannel"/> (the proxy reaches its backends over <see cref="Http2.Http2ConnectionPool"/> instead).</summary>
internal static class GrpcHttpHandlers
{
    /// <summary>
    /// HTTP/2, pooled and multiplexed (more connections once a server's stream limit is reached);
    /// no redirects, cookies, proxies or decompression; idle connections kept alive by pings.
    /// </summary>
    public static SocketsHttpHandler Create(X509Certificate2Collection? roots)
    {
        var handler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            AllowAutoRedirect = false,
            UseCookies = false,
            UseProxy = false,
            AutomaticDecompression = System.Net.DecompressionMethods.None,
            ActivityHeadersPropagator = null,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(2),
            ConnectTimeout = TimeSpan.FromSeconds(10),
            KeepAlivePingDelay = TimeSpan.FromSeconds(60),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(20),
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
            // The default 64 KiB window stalls large messages on a fast loopback; the handler
            // still scales it dynamically from here.
            InitialHttp2StreamWindowSize = 1024 * 1024,
        };
        if (roots is not null)
            handler.SslOptions.RemoteCertificateValidationCallback = CustomRootTrust.Callback(roots);
        return handler;
    }
}
