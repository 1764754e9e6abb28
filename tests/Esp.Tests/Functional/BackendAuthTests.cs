using System.Text.Json;
using Esp.Auth.Jwt;
using Esp.Auth.Keys;
using Esp.Grpc;
using Esp.Grpc.Client;
using Esp.Interop;
using Esp.Tests.Infrastructure;
using Esp.Tests.Interop;
using Esp.Tools;
using Microsoft.Extensions.Logging;
using Xunit;
using Esp.Auth.ServiceAccounts;

namespace Esp.Tests.Functional;

/// <summary>
/// Backend authentication: for a backend rule with a jwt_audience the proxy sends its own ID token
/// (signed with --service_account_key) and moves the caller's Authorization to
/// X-Forwarded-Authorization; disable_auth leaves Authorization alone. The backend is Python grpcio.
/// </summary>
public sealed class BackendAuthTests : IAsyncLifetime
{
    private const string ProxyEmail = "esp-proxy@producer-project.iam.gserviceaccount.com";
    private const string CallerAuthorization = "Bearer caller-credential";
    private readonly PythonEchoServerFixture _backend = new();
    private readonly string _keys = Directory.CreateTempSubdirectory("esp-backend-auth-").FullName;
    private ServiceAccountKey _identity = null!;

    public async Task InitializeAsync()
    {
        await _backend.InitializeAsync();
        _identity = ServiceAccountKey.Create(ProxyEmail);
        Assert.Null(_identity.Save(Path.Combine(_keys, "proxy.json"), overwrite: false));
    }

    [Fact]
    public async Task JwtAudienceRule_IdTokenSent_CallerAuthorizationMovedAside()
    {
        var echoed = await CallThroughProxyAsync("""
            - selector: esp.interop.Echo.Unary
              jwt_audience: https://backend.example.com
            """);

        Assert.Equal(CallerAuthorization, echoed.GetValue("x-forwarded-authorization"));
        var sent = echoed.GetValue("x-received-authorization");
        Assert.NotNull(sent);
        Assert.StartsWith("Bearer ", sent, StringComparison.Ordinal);

        // The ID token verifies against the proxy's keys as Google would publish them.
        await using var keyServer = await KeyServer.StartAsync(_keys, System.Net.IPAddress.Loopback, 0, l => l.ClearProviders());
        using var http = new HttpClient();
        var jwks = await http.GetByteArrayAsync(keyServer.JwksUrl(ProxyEmail)).DefaultTimeout();
        var keys = KeySetParser.Parse(jwks, out var problem, out _);
        Assert.True(keys is not null, problem);
        Assert.True(JwtParser.TryParse(sent["Bearer ".Length..], out var token, out var failure), failure.Reason);
        Assert.Null(keys.Verify(token));
        Assert.Equal(ProxyEmail, token.Issuer);
        Assert.Equal(ProxyEmail, token.Subject);
        Assert.Equal(["https://backend.example.com"], token.Audiences);
        Assert.True(token.ExpiresAt > DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 3000);
        Assert.Equal(_identity.PrivateKeyId, JsonDocument.Parse(Convert.FromBase64String(PadBase64(token.Raw.Split('.')[0]))).RootElement.GetProperty("kid").GetString());
    }

    [Fact]
    public async Task DisableAuthRule_AuthorizationUnchanged_NothingForwardedAside()
    {
        var echoed = await CallThroughProxyAsync("""
            - selector: esp.interop.Echo.Unary
              disable_auth: true
            """);

        Assert.Equal(CallerAuthorization, echoed.GetValue("x-received-authorization"));
        Assert.Null(echoed.GetValue("x-forwarded-authorization"));
    }

    [Fact]
    public async Task JwtAudienceRule_TwoCalls_SameTokenReused()
    {
        const string rule = """
            - selector: "*"
              jwt_audience: https://backend.example.com
            """;
        var first = await CallThroughProxyAsync(rule, calls: 2);

        Assert.Equal(2, first.GetAll("x-received-authorization").Select(e => e.Value).Count());
        Assert.Single(first.GetAll("x-received-authorization").Select(e => e.Value).Distinct());
    }

    [Fact]
    public async Task JwtAudienceRule_NoServiceAccountKey_StartRefusedWithExitCode2()
    {
        var config = Path.Combine(_keys, "api_config.yaml");
        await File.WriteAllTextAsync(config, Config("""
            - selector: esp.interop.Echo.Unary
              jwt_audience: https://backend.example.com
            """));

        var (exitCode, output) = await PeerProcess.RunAsync("dotnet", [Path.Combine(AppContext.BaseDirectory, "esp.dll"), "run",
            $"--service_config={config}", $"--descriptor={ProtocDescriptors.Interop}", "--http2_port=0"]);

        Assert.Equal(2, exitCode);
        Assert.Contains("jwt_audience 'https://backend.example.com'", output, StringComparison.Ordinal);
        Assert.Contains("--service_account_key", output, StringComparison.Ordinal);
    }

    /// <summary>Calls Unary through a proxy with these backend rules; what the backend echoed back (headers of every call).</summary>
    private async Task<Metadata> CallThroughProxyAsync(string rules, int calls = 1)
    {
        await using var proxy = await TestProxy.StartAsync(Config(rules), ProtocDescriptors.Interop, $"grpc://127.0.0.1:{_backend.Address.Port}",
            options => options with { ServiceAccountKey = _identity });
        using var channel = GrpcChannel.ForAddress(proxy.Address);
        var echoed = new Metadata();
        for (var i = 0; i < calls; i++)
        {
            using var call = channel.UnaryCall(EchoClientCases.Unary, new EchoRequest(), new CallOptions
            {
                Headers = new Metadata().Add("authorization", CallerAuthorization),
                Timeout = TimeSpan.FromSeconds(10),
            });
            await call.ResponseAsync.DefaultTimeout();
            foreach (var entry in await call.ResponseHeadersAsync.DefaultTimeout())
                echoed.Add(entry);
        }
        return echoed;
    }

    private static string Config(string backendRules) => TestConfigs.OpenEcho + "\nbackend:\n  rules:\n" +
        string.Join("\n", backendRules.Split('\n').Select(line => "  " + line));

    private static string PadBase64(string segment) =>
        segment.Replace('-', '+').Replace('_', '/').PadRight(segment.Length + ((4 - (segment.Length % 4)) % 4), '=');

    public async Task DisposeAsync()
    {
        _identity.Dispose();
        await _backend.DisposeAsync();
        Directory.Delete(_keys, recursive: true);
    }
}
