using System.Globalization;
using Esp.Grpc;
using Esp.Grpc.Client;
using Esp.Interop;
using Esp.Tests.Infrastructure;
using Esp.Tests.Interop;
using Google.Protobuf;
using Xunit;

namespace Esp.Tests.Functional;

/// <summary><c>esp run</c> as a process: what an operator sees at start and at SIGTERM.</summary>
public sealed class EspRunTests : IAsyncLifetime
{
    private static readonly string Esp = Path.Combine(AppContext.BaseDirectory, "esp.dll");
    private readonly string _directory = Directory.CreateTempSubdirectory("esp-run-").FullName;
    private readonly EchoService _echo = new();
    private TestGrpcHost _backend = null!;

    public async Task InitializeAsync() => _backend = await TestGrpcHost.StartAsync([_echo.CreateDefinition()]);

    [Fact]
    public async Task Run_InvalidConfig_ExitCode2ListingEveryError()
    {
        var config = await WriteConfigAsync("""
            type: google.api.Service
            config_version: 3
            name: echo.endpoints.test.cloud.goog
            apis:
            - name: esp.interop.Echo
            authentication:
              rules:
              - selector: esp.interop.Echo.Unary
                requirements:
                - provider_id: nobody
            usage:
              rules:
              - selector: esp.interop.Echo.NoSuchMethod
                allow_unregistered_calls: true
            """);

        var (exitCode, output) = await PeerProcess.RunAsync("dotnet", [Esp, "run", $"--service_config={config}",
            "--descriptor", ProtocDescriptors.Interop, "--backend=grpc://127.0.0.1:1", "--http2_port=0"]);

        Assert.Equal(2, exitCode);
        Assert.Contains("cannot start: 2 configuration errors", output, StringComparison.Ordinal);
        Assert.Contains($"{config}:10:", output, StringComparison.Ordinal);
        Assert.Contains("nobody", output, StringComparison.Ordinal);
        Assert.Contains($"{config}:13:", output, StringComparison.Ordinal);
        Assert.Contains("esp.interop.Echo.NoSuchMethod", output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_BrokenApiKeyStore_ExitCode2ListingEveryProblemWithConfigErrors()
    {
        var config = await WriteConfigAsync(TestConfigs.OpenEcho);
        var store = Path.Combine(_directory, "keys.yaml");
        await File.WriteAllTextAsync(store, "keys:\n  - consumer: a b\n    created: soon\n");

        var (exitCode, output) = await PeerProcess.RunAsync("dotnet", [Esp, "run", $"--service_config={config}",
            "--descriptor", ProtocDescriptors.Interop, "--backend=grpc://127.0.0.1:1", "--http2_port=0", $"--api_keys={store}", "--jwt_cache_size=-1"]);

        Assert.Equal(2, exitCode);
        Assert.Contains("cannot start: 4 configuration errors", output, StringComparison.Ordinal);
        Assert.Contains("--jwt_cache_size must be 0 (off) or positive.", output, StringComparison.Ordinal);
        Assert.Contains($"--api_keys: {store}:2: keys[0].consumer 'a b' is not a valid consumer name", output, StringComparison.Ordinal);
        Assert.Contains($"--api_keys: {store}:2: keys[0].sha256 is missing", output, StringComparison.Ordinal);
        Assert.Contains($"--api_keys: {store}:3: keys[0].created 'soon' is not a timestamp", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_MissingApiKeyStore_ExitCode2SayingHowToCreateIt()
    {
        var config = await WriteConfigAsync(TestConfigs.OpenEcho);
        var store = Path.Combine(_directory, "none.yaml");

        var (exitCode, output) = await PeerProcess.RunAsync("dotnet", [Esp, "run", $"--service_config={config}",
            "--descriptor", ProtocDescriptors.Interop, "--backend=grpc://127.0.0.1:1", "--http2_port=0", $"--api_keys={store}"]);

        Assert.Equal(2, exitCode);
        Assert.Contains($"--api_keys: {store}: does not exist: create it with esp apikeys create --store {store} --consumer NAME", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_SigTerm_StopsAcceptingLetsCallInFlightFinishExitsZero()
    {
        var config = await WriteConfigAsync(TestConfigs.OpenEcho);
        await using var proxy = await PeerProcess.StartServerAsync("dotnet", Esp, "run", $"--service_config={config}",
            $"--descriptor={ProtocDescriptors.Interop}", $"--backend=grpc://127.0.0.1:{_backend.Port}",
            "--http2_port=0", "--listener_address=127.0.0.1", "--shutdown_grace_period_s=15");
        var address = $"http://127.0.0.1:{proxy.Port.ToString(CultureInfo.InvariantCulture)}";
        using var channel = GrpcChannel.ForAddress(address);
        using var call = channel.DuplexStreamingCall(EchoClientCases.Bidi, new CallOptions { Timeout = TimeSpan.FromSeconds(20) });
        await call.RequestStream.WriteAsync(new EchoRequest { Payload = ByteString.CopyFromUtf8("before") }).DefaultTimeout();
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout());

        await proxy.SignalAsync("TERM");

        // The call in flight goes on to its normal end...
        await call.RequestStream.WriteAsync(new EchoRequest { Payload = ByteString.CopyFromUtf8("after") }).DefaultTimeout();
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout());
        Assert.Equal("after", call.ResponseStream.Current.Payload.ToStringUtf8());
        await call.RequestStream.CompleteAsync().DefaultTimeout();
        Assert.False(await call.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout());
        Assert.Equal(StatusCode.OK, call.GetStatus().Code);

        // ...then the proxy exits cleanly, and nothing new is accepted.
        Assert.Equal(0, await proxy.WaitForExitAsync());
        using var late = GrpcChannel.ForAddress(address);
        var refused = await Assert.ThrowsAsync<RpcException>(() =>
            late.UnaryCall(EchoClientCases.Unary, new EchoRequest(), new CallOptions { Timeout = TimeSpan.FromSeconds(5) }).ResponseAsync).DefaultTimeout();
        Assert.Equal(StatusCode.Unavailable, refused.StatusCode);
    }

    private async Task<string> WriteConfigAsync(string yaml)
    {
        var path = Path.Combine(_directory, "api_config.yaml");
        await File.WriteAllTextAsync(path, yaml);
        return path;
    }

    public async Task DisposeAsync()
    {
        await _backend.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }
}
