using Esp.Tests.Infrastructure;
using Esp.Tests.Interop;
using Xunit;

namespace Esp.Tests.Functional;

/// <summary>Service configs the functional tests serve.</summary>
internal static class TestConfigs
{
    /// <summary>The Echo service, every method open (no JWT, no API key).</summary>
    public const string OpenEcho = """
        type: google.api.Service
        config_version: 3
        name: echo.endpoints.test.cloud.goog
        title: Echo
        apis:
        - name: esp.interop.Echo
        usage:
          rules:
          - selector: "*"
            allow_unregistered_calls: true
        """;

    /// <summary>
    /// The Echo service as the admission tests need it: ClientStream requires a JWT (from a provider
    /// whose keys cannot be fetched, so only "missing" is reachable), and every method the given
    /// <c>usage.rules</c> (YAML list items, indented 2) do not open requires an API key.
    /// </summary>
    public static string KeyedEcho(string usageRules) => $"""
        type: google.api.Service
        config_version: 3
        name: echo.endpoints.test.cloud.goog
        apis:
        - name: esp.interop.Echo
        usage:
          rules:
        {usageRules}
        authentication:
          providers:
          - id: sa
            issuer: caller@project.iam.gserviceaccount.com
            jwks_uri: http://127.0.0.1:1/keys
          rules:
          - selector: esp.interop.Echo.ClientStream
            requirements:
            - provider_id: sa
        """;
}

/// <summary>The proxy in front of an Echo server (ours, the Python peer or the Node peer).</summary>
public sealed class ProxiedEchoFixture<TServer> : IAsyncLifetime
    where TServer : IEchoServer, new()
{
    private TestProxy? _proxy;

    public TServer Server { get; } = new();

    public Uri Address => _proxy!.Address;

    public string Target => _proxy!.Target;

    public async Task InitializeAsync()
    {
        await Server.InitializeAsync();
        _proxy = await TestProxy.StartAsync(TestConfigs.OpenEcho, ProtocDescriptors.Interop,
            $"grpc://127.0.0.1:{Server.Address.Port}");
    }

    public async Task DisposeAsync()
    {
        if (_proxy is not null)
            await _proxy.DisposeAsync();
        await Server.DisposeAsync();
    }
}

/// <summary>Our client → proxy → Python grpcio server: every interop case.</summary>
public sealed class OurClientThroughProxyToPythonTests(ProxiedEchoFixture<PythonEchoServerFixture> fixture)
    : EchoClientCases(fixture.Address), IClassFixture<ProxiedEchoFixture<PythonEchoServerFixture>>;

/// <summary>Our client → proxy → our server: every interop case.</summary>
public sealed class OurClientThroughProxyToOurServerTests(ProxiedEchoFixture<OurEchoServerFixture> fixture)
    : EchoClientCases(fixture.Address), IClassFixture<ProxiedEchoFixture<OurEchoServerFixture>>;

/// <summary>Python grpcio and @grpc/grpc-js clients → proxy → Python grpcio server: every interop case.</summary>
public sealed class PeerClientsThroughProxyToPythonTests(ProxiedEchoFixture<PythonEchoServerFixture> fixture)
    : PeerClientCases(fixture.Target), IClassFixture<ProxiedEchoFixture<PythonEchoServerFixture>>;

/// <summary>Our client → proxy → Node @grpc/grpc-js server: every interop case.</summary>
public sealed class OurClientThroughProxyToNodeTests(ProxiedEchoFixture<NodeEchoServerFixture> fixture)
    : EchoClientCases(fixture.Address), IClassFixture<ProxiedEchoFixture<NodeEchoServerFixture>>;

/// <summary>Python grpcio and @grpc/grpc-js clients → proxy → Node @grpc/grpc-js server: every interop case.</summary>
public sealed class PeerClientsThroughProxyToNodeTests(ProxiedEchoFixture<NodeEchoServerFixture> fixture)
    : PeerClientCases(fixture.Target), IClassFixture<ProxiedEchoFixture<NodeEchoServerFixture>>;
