using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Esp.Grpc;
using Esp.Grpc.Client;
using Esp.Grpc.Server;
using Esp.Interop;
using Esp.Tests.Functional;
using Esp.Tests.Grpc;
using Esp.Tests.Infrastructure;
using Esp.Tests.Interop;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit;

namespace Esp.Tests.Auth;

/// <summary>
/// JWT checks through the running proxy (catalogue rows A9, E7, F4, I6): our gRPC client → proxy
/// (in process, fake clock) → Echo backend, which echoes every x- request header back, so the
/// X-Endpoint-API-UserInfo the backend received is visible to the test. Refused calls get a
/// Trailers-Only response and never reach the backend.
/// </summary>
public sealed class ProxyAuthTests : IAsyncLifetime
{
    private const string Issuer = "https://issuer.test";
    private const string Audience = "echo-audience";
    private static readonly CallOptions Bounded = new() { Timeout = TimeSpan.FromSeconds(10) };

    private readonly FakeTimeProvider _time = new();
    private KeyServer _keys = null!;
    private CountingEchoBackend _backend = null!;
    private TestProxy _proxy = null!;
    private GrpcChannel _channel = null!;

    private long Now => _time.GetUtcNow().ToUnixTimeSeconds();

    public async Task InitializeAsync()
    {
        _keys = await KeyServer.StartAsync();
        _keys.Serve("/jwks", TestTokens.Jwks(TestKeys.Rsa));
        _backend = await CountingEchoBackend.StartAsync();
        var config = TestConfigs.OpenEcho + $"""

            authentication:
              providers:
              - id: test
                issuer: {Issuer}
                jwks_uri: {_keys.Url("/jwks")}
                audiences: {Audience}
              rules:
              - selector: esp.interop.Echo.Unary
                requirements:
                - provider_id: test
            """;
        _proxy = await TestProxy.StartAsync(config, ProtocDescriptors.Interop, $"grpc://127.0.0.1:{_backend.Port}", time: _time);
        _channel = GrpcChannel.ForAddress(_proxy.Address);
    }

    public async Task DisposeAsync()
    {
        _channel.Dispose();
        await _proxy.DisposeAsync();
        await _backend.DisposeAsync();
        await _keys.DisposeAsync();
    }

    private string Token(string[]? aud = null, long? exp = null, TestKey? key = null) =>
        TestTokens.Create(key ?? TestKeys.Rsa, TestTokens.Payload(Issuer, aud ?? [Audience], Now, exp ?? Now + 3600,
            extra: new JsonObject { ["email"] = "user@example.com" }));

    private async Task<RpcException> RefusedAsync(string authorization)
    {
        var options = Bounded with { Headers = new Metadata().Add("authorization", authorization) };
        return await Assert.ThrowsAsync<RpcException>(() => _channel.UnaryCall(EchoClientCases.Unary, new EchoRequest(), options).ResponseAsync).DefaultTimeout();
    }

    [Fact]
    public async Task Call_GoodToken_ForwardedWithUserInfo_SpoofedUserInfoReplaced()
    {
        var token = Token();
        var metadata = new Metadata()
            .Add("authorization", "Bearer " + token)
            .Add("x-endpoint-api-userinfo", Convert.ToBase64String("""{"id":"admin"}"""u8.ToArray()));

        using var call = _channel.UnaryCall(EchoClientCases.Unary, new EchoRequest(), Bounded with { Headers = metadata });
        await call.ResponseAsync.DefaultTimeout();
        var echoed = await call.ResponseHeadersAsync.DefaultTimeout();

        var userInfo = echoed.GetValue("x-endpoint-api-userinfo");
        Assert.NotNull(userInfo);
        using var json = JsonDocument.Parse(Convert.FromBase64String(userInfo.Replace('-', '+').Replace('_', '/')));
        Assert.Equal("user-1", json.RootElement.GetProperty("id").GetString());
        Assert.Equal(Issuer, json.RootElement.GetProperty("issuer").GetString());
        Assert.Equal("user@example.com", json.RootElement.GetProperty("email").GetString());
        Assert.Equal(Audience, json.RootElement.GetProperty("audiences")[0].GetString());
        Assert.Equal("user-1", json.RootElement.GetProperty("claims").GetProperty("sub").GetString());
        Assert.Equal(1, _backend.Calls);
    }

    [Theory]
    [InlineData("I6 expired", "expired", Reasons.Expired)]
    [InlineData("I6 bad signature", "forged", Reasons.VerificationFails)]
    [InlineData("I6 unknown kid", "unknown-kid", Reasons.NoMatchingKey)]
    [InlineData("I6 malformed", "malformed", Reasons.BadFormat)]
    [InlineData("I6 alg none", "none", Reasons.AlgNotSupported)]
    public async Task Call_BadToken_Unauthenticated_NotForwarded(string row, string kind, string reason)
    {
        _ = row;
        var token = kind switch
        {
            "expired" => Token(exp: Now - 3600),
            "forged" => TestTokens.WithSignature(Token(), new byte[256]),
            "unknown-kid" => Token(key: TestKeys.Rsa2),
            "malformed" => "not.a-jwt",
            _ => TestTokens.B64("""{"alg":"none"}""") + "." + TestTokens.B64("""{"iss":"https://issuer.test"}""") + ".c2ln",
        };

        var error = await RefusedAsync("Bearer " + token);

        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
        Assert.Equal("JWT validation failed: " + reason, error.Status.Detail);
        Assert.Equal(0, _backend.Calls);
    }

    [Fact]
    public async Task Call_F4_WrongAudience_PermissionDenied_NotForwarded()
    {
        var error = await RefusedAsync("Bearer " + Token(aud: ["someone-else"]));

        Assert.Equal(StatusCode.PermissionDenied, error.StatusCode);
        Assert.Equal("JWT validation failed: Audiences in Jwt are not allowed", error.Status.Detail);
        Assert.Equal(0, _backend.Calls);
    }

    [Fact]
    public async Task Call_I6_BadToken_TrailersOnlyResponseWithPercentEncodedMessage()
    {
        using var client = GrpcWire.CreateHttpClient();
        var request = GrpcWire.Post(_proxy.Address, GrpcWire.UnaryPath, GrpcWire.Frame(new EchoRequest()));
        request.Headers.TryAddWithoutValidation("authorization", "Bearer " + TestTokens.WithSignature(Token(), new byte[256]));

        var response = await GrpcWire.SendAsync(client, request);

        Assert.Equal(200, response.HttpStatus);
        Assert.Equal("application/grpc", response.Header("content-type"));
        Assert.Equal("16", response.Header("grpc-status"));
        Assert.Equal("JWT validation failed: Jwt verification fails", Uri.UnescapeDataString(response.Header("grpc-message")!));
        Assert.Empty(response.Body);
        Assert.Empty(response.Trailers);
        Assert.Equal(0, _backend.Calls);
    }

    [Theory]
    [InlineData("opaque secret", "secret-token-material-1234567890")]
    [InlineData("three segments", "c2VjcmV0LWhlYWRlcg.c2VjcmV0LXBheWxvYWQ.c2VjcmV0LXNpZw")]
    [InlineData("bad base64", "eyJhbGciOiJSUzI1NiJ9.c2VjcmV0+payload.c2lnbmF0dXJl")]
    [InlineData("JSON that is not a JWT header", "eyJzZWNyZXQiOiJ2YWx1ZSJ9.eyJpc3MiOiJ4In0.c2lnbmF0dXJl")]
    public async Task Call_BadToken_StatusMessageNeverContainsTokenText(string row, string token)
    {
        _ = row;
        var error = await RefusedAsync("Bearer " + token);

        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
        Assert.StartsWith("JWT validation failed: ", error.Status.Detail, StringComparison.Ordinal);
        foreach (var piece in token.Split('.').Append(token))
            Assert.DoesNotContain(piece, error.Status.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", error.Status.Detail, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Call_E7_TokenGoodThenPastExpOnTheProxyClock_Expired()
    {
        var token = Token(exp: Now + 100);
        var options = Bounded with { Headers = new Metadata().Add("authorization", "Bearer " + token) };
        await _channel.UnaryCall(EchoClientCases.Unary, new EchoRequest(), options).ResponseAsync.DefaultTimeout();

        _time.Advance(TimeSpan.FromSeconds(161));
        var error = await RefusedAsync("Bearer " + token);

        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
        Assert.Equal("JWT validation failed: Jwt is expired", error.Status.Detail);
        Assert.Equal(1, _backend.Calls);
    }

    [Fact]
    public async Task Call_MethodWithoutRule_ForwardedWhateverTheCredentials()
    {
        var metadata = new Metadata().Add("authorization", "Bearer garbage").Add("x-endpoint-api-userinfo", "forged");

        using var call = _channel.UnaryCall(EchoClientCases.Observed, new ObservedRequest(), Bounded with { Headers = metadata });
        await call.ResponseAsync.DefaultTimeout();

        Assert.Equal(1, _backend.Calls);
    }

    /// <summary>Our Echo service on real Kestrel (h2c, loopback, port 0), counting the requests that reach it.</summary>
    private sealed class CountingEchoBackend : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private int _calls;

        private CountingEchoBackend(WebApplication app) => _app = app;

        public int Port { get; private set; }

        public int Calls => Volatile.Read(ref _calls);

        public static async Task<CountingEchoBackend> StartAsync()
        {
            var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
            builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
                kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2));
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            var app = builder.Build();
            var backend = new CountingEchoBackend(app);
            app.Use((context, next) =>
            {
                Interlocked.Increment(ref backend._calls);
                return next(context);
            });
            app.UseGrpcServices(new GrpcServerOptions(), new EchoService().CreateDefinition());
            await app.StartAsync().DefaultTimeout();
            backend.Port = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()).Port;
            return backend;
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync().DefaultTimeout();
            await _app.DisposeAsync();
        }
    }
}
