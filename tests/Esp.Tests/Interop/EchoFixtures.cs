using Esp.Grpc.Client;
using Esp.Tests.Infrastructure;
using Xunit;

namespace Esp.Tests.Interop;

/// <summary>A running Echo server (ours or a peer's).</summary>
public interface IEchoServer : IAsyncLifetime
{
    Uri Address { get; }
}

/// <summary>Our server binding hosting the interop Echo service.</summary>
public sealed class OurEchoServerFixture : IEchoServer
{
    private TestGrpcHost? _host;

    internal EchoService Service { get; } = new();

    public Uri Address => _host!.Address;

    public string Target => $"127.0.0.1:{_host!.Port}";

    public async Task InitializeAsync() => _host = await TestGrpcHost.StartAsync([Service.CreateDefinition()]);

    public async Task DisposeAsync()
    {
        if (_host is not null)
            await _host.DisposeAsync();
    }
}

/// <summary>The Python grpcio peer (tests/peers/interop_server.py) serving the same Echo service.</summary>
public sealed class PythonEchoServerFixture : IEchoServer
{
    private PeerProcess? _server;

    public Uri Address => new($"http://127.0.0.1:{_server!.Port}");

    public async Task InitializeAsync() =>
        _server = await PeerProcess.StartServerAsync(RepositoryPaths.Python, Path.Combine(RepositoryPaths.Peers, "interop_server.py"), "--port", "0");

    public async Task DisposeAsync()
    {
        if (_server is not null)
            await _server.DisposeAsync();
    }
}

/// <summary>The Node @grpc/grpc-js peer (tests/peers/interop_server.js, on Node's http2) serving the same Echo service.</summary>
public sealed class NodeEchoServerFixture : IEchoServer
{
    private PeerProcess? _server;

    public Uri Address => new($"http://127.0.0.1:{_server!.Port}");

    public async Task InitializeAsync() =>
        _server = await PeerProcess.StartServerAsync("node", Path.Combine(RepositoryPaths.Peers, "interop_server.js"), "--port", "0");

    public async Task DisposeAsync()
    {
        if (_server is not null)
            await _server.DisposeAsync();
    }
}

internal static class EchoChannels
{
    /// <summary>A channel that accepts the 4 MiB echo of the large-message cases.</summary>
    public static GrpcChannel Create(Uri address, bool compress = false) =>
        GrpcChannel.ForAddress(address, new GrpcChannelOptions { MaxReceiveMessageSize = 8 * 1024 * 1024, CompressRequests = compress });
}
