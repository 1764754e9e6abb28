using System.Collections.Concurrent;
using System.Security.Cryptography.X509Certificates;
using Esp.Grpc.Client;

namespace Esp.Forwarding;

/// <summary>
/// One pooled HTTP/2 client per backend address, shared by every call to it: multiplexed, and
/// opening more connections when a server's stream limit is reached.
/// </summary>
internal sealed class BackendClients : IDisposable
{
    private readonly ConcurrentDictionary<Uri, HttpMessageInvoker> _clients = new();
    private readonly X509Certificate2Collection? _backendRoots;

    public BackendClients(X509Certificate2Collection? backendRoots)
    {
        _backendRoots = backendRoots;
    }

    public HttpMessageInvoker For(Uri baseUri) => _clients.GetOrAdd(baseUri, static (uri, roots) => Create(uri, roots), _backendRoots);

    private static HttpMessageInvoker Create(Uri baseUri, X509Certificate2Collection? roots) =>
        new(GrpcHttpHandlers.Create(baseUri.Scheme == Uri.UriSchemeHttps ? roots : null), disposeHandler: true);

    public void Dispose()
    {
        foreach (var client in _clients.Values)
            client.Dispose();
    }
}
