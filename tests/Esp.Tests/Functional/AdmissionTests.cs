using Esp.Grpc;
using Esp.Grpc.Client;
using Esp.Interop;
using Esp.Tests.Grpc;
using Esp.Tests.Infrastructure;
using Esp.Tests.Interop;
using Xunit;

namespace Esp.Tests.Functional;

/// <summary>
/// Closed by default: a method that needs a JWT refuses calls without one, and a method that needs
/// an API key is refused while no key store is configured; open methods pass.
/// </summary>
public sealed class AdmissionTests : IAsyncLifetime
{
    private static readonly string KeyedConfig = TestConfigs.KeyedEcho("""
          - selector: esp.interop.Echo.Unary
            allow_unregistered_calls: true
          - selector: esp.interop.Echo.Observed
            skip_service_control: true
        """);

    private static readonly CallOptions Bounded = new() { Timeout = TimeSpan.FromSeconds(10) };
    private RawHttp2Server _backend = null!;
    private TestProxy _proxy = null!;
    private GrpcChannel _channel = null!;

    public async Task InitializeAsync()
    {
        _backend = await RawHttp2Server.StartAsync(context =>
        {
            context.Response.ContentType = "application/grpc";
            context.Response.Headers["grpc-status"] = "0";
            return Task.CompletedTask;
        });
        _proxy = await TestProxy.StartAsync(KeyedConfig, ProtocDescriptors.Interop, $"grpc://127.0.0.1:{_backend.Address.Port}");
        _channel = GrpcChannel.ForAddress(_proxy.Address);
    }

    [Fact]
    public async Task KeyRequired_NoKey_UnauthenticatedWithEspMessage_NotForwarded()
    {
        var error = await CallServerStreamAsync(new Metadata());

        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
        Assert.StartsWith("Method doesn't allow unregistered callers", error.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(0, _backend.Requests);
    }

    [Fact]
    public async Task KeyRequired_KeyButNoStore_InvalidArgument_NotForwarded()
    {
        var error = await CallServerStreamAsync(new Metadata().Add("x-api-key", "AIzaSomething"));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal("API key not valid. Please pass a valid API key.", error.Status.Detail);
        Assert.DoesNotContain("AIzaSomething", error.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(0, _backend.Requests);
    }

    [Fact]
    public async Task JwtAndKeyRequired_NoTokenNoKey_JwtCheckedFirst_NotForwarded()
    {
        using var call = _channel.ClientStreamingCall(EchoClientCases.ClientStream, Bounded);

        var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync).DefaultTimeout();

        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
        Assert.Equal("JWT validation failed: Jwt is missing", error.Status.Detail);
        Assert.Equal(0, _backend.Requests);
    }

    [Fact]
    public async Task OpenAndSkippedMethods_Forwarded()
    {
        await Assert.ThrowsAsync<RpcException>(() => _channel.UnaryCall(EchoClientCases.Unary, new EchoRequest(), Bounded).ResponseAsync).DefaultTimeout();
        await Assert.ThrowsAsync<RpcException>(() => _channel.UnaryCall(EchoClientCases.Observed, new ObservedRequest(), Bounded).ResponseAsync).DefaultTimeout();

        // The backend answers OK without a message, which our client rejects; what matters is it was reached.
        Assert.Equal(2, _backend.Requests);
    }

    private async Task<RpcException> CallServerStreamAsync(Metadata metadata)
    {
        using var call = _channel.ServerStreamingCall(EchoClientCases.ServerStream, new EchoRequest(), Bounded with { Headers = metadata });
        return await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None)).DefaultTimeout();
    }

    public async Task DisposeAsync()
    {
        _channel.Dispose();
        await _proxy.DisposeAsync();
        await _backend.DisposeAsync();
    }
}
