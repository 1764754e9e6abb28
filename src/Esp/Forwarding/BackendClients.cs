using System.Collections.Concurrent;
using System.Security.Cryptography.X509Certificates;
using Esp.Grpc.Http2;

namespace Esp.Forwarding;

/// <summary>
/// One pool of HTTP/2 connections per backend address, shared by every call to it: multiplexed,
/// and opening more connections when a server's stream limit is reached.
/// </summary>
internal sealed class BackendClients(X509Certificate2Collection? backendRoots) : IAsyncDisposable
{
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(10);

    private readonly ConcurrentDictionary<Uri, Http2ConnectionPool> _pools = new();

    public Http2ConnectionPool For(Uri baseUri) =>
        _pools.GetOrAdd(baseUri, static (uri, roots) => new Http2ConnectionPool(uri, uri.Scheme == Uri.UriSchemeHttps ? roots : null, ConnectTimeout), backendRoots);

    public async ValueTask DisposeAsync()
    {
        foreach (var pool in _pools.Values)
            await pool.DisposeAsync();
    }
}
