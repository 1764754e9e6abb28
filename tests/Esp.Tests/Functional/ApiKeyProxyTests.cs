using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Esp.ApiKeys;
using Esp.Grpc;
using Esp.Grpc.Client;
using Esp.Hosting;
using Esp.Interop;
using Esp.Tests.Grpc;
using Esp.Tests.Infrastructure;
using Esp.Tests.Interop;
using Google.Protobuf;
using Xunit;

namespace Esp.Tests.Functional;

/// <summary>
/// The key store behind a running proxy: changes take effect while calls run without losing one, a broken
/// store changes nothing, and HTTP callers get ESP's JSON errors. (JWTs before keys, and no store at all:
/// <see cref="AdmissionTests"/>.)
/// </summary>
public sealed class ApiKeyProxyTests : IAsyncLifetime
{
    private static readonly string Config = TestConfigs.KeyedEcho("""
          - selector: esp.interop.Echo.Observed
            allow_unregistered_calls: true
        """);

    private static readonly CallOptions Bounded = new() { Timeout = TimeSpan.FromSeconds(10) };
    private readonly EchoService _echo = new();
    private readonly string _directory = Directory.CreateTempSubdirectory("esp-keys-proxy-").FullName;
    private readonly string _alphaKey = ApiKeySecrets.NewKey();
    private TestGrpcHost _backend = null!;
    private TestProxy _proxy = null!;
    private GrpcChannel _channel = null!;

    private string StorePath => Path.Combine(_directory, "keys.yaml");

    public async Task InitializeAsync()
    {
        ApiKeyStoreFile.Update(StorePath, _ => [Record(_alphaKey, "alpha")]);
        _backend = await TestGrpcHost.StartAsync([_echo.CreateDefinition()]);
        _proxy = await TestProxy.StartAsync(Config, ProtocDescriptors.Interop, $"grpc://127.0.0.1:{_backend.Port}",
            o => o with { ApiKeys = new ApiKeyStoreOptions(StorePath, ApiKeyStoreFile.Read(StorePath)) });
        _channel = GrpcChannel.ForAddress(_proxy.Address);
    }

    private static ApiKeyRecord Record(string key, string consumer) =>
        new() { Consumer = consumer, Sha256 = ApiKeySecrets.Hash(key), Created = DateTimeOffset.UtcNow };

    private Task<ApiKeyStoreReadResult> NextReloadAsync()
    {
        var reloaded = new TaskCompletionSource<ApiKeyStoreReadResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        _proxy.ApiKeys!.Reloaded += result => reloaded.TrySetResult(result);
        return reloaded.Task;
    }

    private async Task<StatusCode> UnaryAsync(string key)
    {
        try
        {
            await _channel.UnaryCall(EchoClientCases.Unary, new EchoRequest { Payload = ByteString.CopyFromUtf8("p") },
                Bounded with { Headers = new Metadata().Add("x-api-key", key) }).ResponseAsync;
            return StatusCode.OK;
        }
        catch (RpcException error)
        {
            return error.StatusCode;
        }
    }

    [Fact]
    public async Task KeyRevokedAndAddedWhileCallsRun_EveryCallAnswered_ChangeAppliesToCallsStartedAfterReload()
    {
        var betaKey = ApiKeySecrets.NewKey();
        // A stream admitted with alpha's key before the revocation.
        using var stream = _channel.DuplexStreamingCall(EchoClientCases.Bidi, Bounded with { Headers = new Metadata().Add("x-api-key", _alphaKey) });
        await stream.RequestStream.WriteAsync(new EchoRequest { Payload = ByteString.CopyFromUtf8("before") }).DefaultTimeout();
        Assert.True(await stream.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout());

        var outcomes = new ConcurrentQueue<(string Key, bool AfterReload, StatusCode Code)>();
        var reloadSeen = 0;
        var afterReloadCalls = 0;
        using var stop = new CancellationTokenSource();
        async Task CallInALoopAsync(string name, string key)
        {
            while (!stop.IsCancellationRequested)
            {
                var after = Volatile.Read(ref reloadSeen) == 1;
                outcomes.Enqueue((name, after, await UnaryAsync(key)));
                if (after && Interlocked.Increment(ref afterReloadCalls) >= 40)
                    await stop.CancelAsync();
            }
        }
        var callers = new[] { CallInALoopAsync("alpha", _alphaKey), CallInALoopAsync("alpha", _alphaKey), CallInALoopAsync("beta", betaKey), CallInALoopAsync("beta", betaKey) };
        while (outcomes.Count(o => o.Key == "alpha") < 10)
            await Task.Yield();

        var reload = NextReloadAsync();
        ApiKeyStoreFile.Update(StorePath, keys => [.. keys.Select(k => k with { Disabled = true }), Record(betaKey, "beta")]);
        Assert.NotNull((await reload.DefaultTimeout()).Store);
        Volatile.Write(ref reloadSeen, 1);
        await Task.WhenAll(callers).DefaultTimeout();

        Assert.All(outcomes, o => Assert.True(o.Code is StatusCode.OK or StatusCode.InvalidArgument, $"{o.Key}: {o.Code}"));
        Assert.Contains(outcomes, o => o is { Key: "alpha", AfterReload: false, Code: StatusCode.OK });
        Assert.All(outcomes.Where(o => o.AfterReload), o => Assert.Equal(o.Key == "alpha" ? StatusCode.InvalidArgument : StatusCode.OK, o.Code));
        Assert.Contains(outcomes, o => o is { Key: "beta", AfterReload: true });

        // The stream admitted before goes on to its normal end.
        await stream.RequestStream.WriteAsync(new EchoRequest { Payload = ByteString.CopyFromUtf8("after") }).DefaultTimeout();
        Assert.True(await stream.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout());
        Assert.Equal("after", stream.ResponseStream.Current.Payload.ToStringUtf8());
        await stream.RequestStream.CompleteAsync().DefaultTimeout();
        Assert.False(await stream.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout());
    }

    [Fact]
    public async Task BrokenStoreOnReload_KeysKeepWorking()
    {
        var reload = NextReloadAsync();
        var temporary = StorePath + ".new";
        await File.WriteAllTextAsync(temporary, "keys:\n  - consumer: [not, a, name]\n");
        File.Move(temporary, StorePath, overwrite: true);

        var result = await reload.DefaultTimeout();

        Assert.Null(result.Store);
        Assert.Contains(result.Errors, e => e.Message == "keys[0].consumer must be a string, not a list");
        Assert.Equal(StatusCode.OK, await UnaryAsync(_alphaKey));
    }

    [Fact]
    public async Task ValidKey_BackendLearnsTheConsumer_SpoofedConsumerHeadersReplaced()
    {
        var record = ApiKeyStoreFile.Read(StorePath).Store!.Find(_alphaKey)!;
        var headers = new Metadata()
            .Add("x-api-key", _alphaKey)
            .Add("x-endpoint-api-consumer-name", "root")
            .Add("x-endpoint-api-consumer-type", "PROJECT")
            .Add("x-endpoint-api-consumer-number", "1");

        using var call = _channel.UnaryCall(EchoClientCases.Unary, new EchoRequest(), Bounded with { Headers = headers });
        await call.ResponseAsync.DefaultTimeout();
        var echoed = await call.ResponseHeadersAsync.DefaultTimeout();

        Assert.Equal(["alpha"], echoed.GetAll("x-endpoint-api-consumer-name").Select(e => e.Value));
        Assert.Equal(["SERVICE_SPECIFIC"], echoed.GetAll("x-endpoint-api-consumer-type").Select(e => e.Value));
        Assert.Equal([record.ConsumerNumber], echoed.GetAll("x-endpoint-api-consumer-number").Select(e => e.Value));
    }

    [Fact]
    public async Task KeyGivenTwice_FirstValueCounts()
    {
        var twice = await _channel.UnaryCall(EchoClientCases.Unary, new EchoRequest(),
            Bounded with { Headers = new Metadata().Add("x-api-key", _alphaKey).Add("x-api-key", _alphaKey) }).ResponseAsync.DefaultTimeout();
        var error = await Assert.ThrowsAsync<RpcException>(() => _channel.UnaryCall(EchoClientCases.Unary, new EchoRequest(),
            Bounded with { Headers = new Metadata().Add("x-api-key", "esp_unknown").Add("x-api-key", _alphaKey) }).ResponseAsync).DefaultTimeout();

        Assert.NotNull(twice);
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
    }

    [Fact]
    public async Task OpenMethod_SpoofedConsumerHeadersStripped()
    {
        using var call = _channel.UnaryCall(EchoClientCases.Observed, new ObservedRequest(),
            Bounded with { Headers = new Metadata().Add("x-endpoint-api-consumer-name", "root") });
        await call.ResponseAsync.DefaultTimeout();
        var echoed = await call.ResponseHeadersAsync.DefaultTimeout();

        Assert.Empty(echoed.GetAll("x-endpoint-api-consumer-name"));
    }

    [Theory]
    [InlineData("", 401, 16, "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.")]
    [InlineData("?key=esp_unknown", 400, 3, "API key not valid. Please pass a valid API key.")]
    public async Task HttpCaller_RefusedKey_HttpStatusAndEspJsonBody(string query, int httpStatus, int code, string message)
    {
        var response = await PostJsonAsync("/esp.interop.Echo/Unary" + query);

        Assert.Equal(httpStatus, response.HttpStatus);
        Assert.Equal("application/json", response.Header("content-type"));
        Assert.Null(response.Header("www-authenticate"));
        AssertEspJson(response.Body, code, message, "service_control");
    }

    [Fact]
    public async Task HttpCaller_ValidKey_ToldTheMethodIsGrpc()
    {
        var response = await PostJsonAsync("/esp.interop.Echo/Unary?key=" + _alphaKey);

        Assert.Equal(415, response.HttpStatus);
        AssertEspJson(response.Body, 3, "esp.interop.Echo.Unary is a gRPC method: send it as application/grpc over HTTP/2 (HTTP/JSON transcoding is not supported yet).", "internal");
    }

    [Theory]
    [InlineData(null, "Bearer", "JWT validation failed: Jwt is missing")]
    [InlineData("not.a.jwt", "Bearer error=\"invalid_token\"", "JWT validation failed: Jwt header is an invalid Base64url encoded")]
    public async Task HttpCaller_RefusedJwt_401WithChallengeAndEspJsonBody(string? token, string challenge, string message)
    {
        var response = await PostJsonAsync("/esp.interop.Echo/ClientStream", token);

        Assert.Equal(401, response.HttpStatus);
        Assert.Equal(challenge, response.Header("www-authenticate"));
        AssertEspJson(response.Body, 16, message, "auth");
    }

    [Fact]
    public async Task Start_KeyRestrictedToNoMethodOfTheService_Warned()
    {
        var store = Path.Combine(_directory, "typo.yaml");
        ApiKeyStoreFile.Update(store, _ => [Record(ApiKeySecrets.NewKey(), "typo") with { Selectors = ["esp.interop.Echo.Unary", "esp.interop.Ecko.*"] }]);
        var log = new Tools.CapturedLog();

        await using var proxy = await TestProxy.StartAsync(Config, ProtocDescriptors.Interop, "grpc://127.0.0.1:1",
            o => o with { ApiKeys = new ApiKeyStoreOptions(store, ApiKeyStoreFile.Read(store)) }, log: log);

        Assert.Contains(log.Lines, l => l.StartsWith("Information: API key store ", StringComparison.Ordinal) && l.EndsWith(": 1 active keys of 1 consumers (1 in the file)", StringComparison.Ordinal));
        Assert.Contains(log.Lines, l => l.StartsWith("Warning: API key ", StringComparison.Ordinal)
            && l.EndsWith(" of consumer typo is restricted to esp.interop.Ecko.*, which match no method of echo.endpoints.test.cloud.goog", StringComparison.Ordinal));
        Assert.DoesNotContain(log.Lines, l => l.Contains("no key store is configured", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Start_NoStore_LogNamesTheClosedMethodsAndHowToCreateAStore()
    {
        var log = new Tools.CapturedLog();

        await using var proxy = await TestProxy.StartAsync(Config, ProtocDescriptors.Interop, "grpc://127.0.0.1:1", log: log);

        Assert.Contains(log.Lines, l => l.StartsWith(
            "Warning: 4 methods require an API key and no key store is configured, so their calls are refused: " +
            "esp.interop.Echo.Bidi, esp.interop.Echo.ClientStream, esp.interop.Echo.ServerStream, esp.interop.Echo.Unary. " +
            "Create a store with `esp apikeys create --store keys.yaml --consumer NAME` and start with --api_keys=keys.yaml", StringComparison.Ordinal));
    }

    private async Task<RawResponse> PostJsonAsync(string pathAndQuery, string? token = null)
    {
        using var http = GrpcWire.CreateHttpClient();
        var request = GrpcWire.Post(_proxy.Address, pathAndQuery, new StringContent("{}"), "application/json");
        if (token is not null)
            request.Headers.TryAddWithoutValidation("authorization", "Bearer " + token);
        return await GrpcWire.SendAsync(http, request);
    }

    private static void AssertEspJson(byte[] body, int code, string message, string detail)
    {
        using var json = JsonDocument.Parse(body);
        var root = json.RootElement;
        Assert.Equal(code, root.GetProperty("code").GetInt32());
        Assert.Equal(message, root.GetProperty("message").GetString());
        var info = Assert.Single(root.GetProperty("details").EnumerateArray().ToList());
        Assert.Equal("type.googleapis.com/google.rpc.DebugInfo", info.GetProperty("@type").GetString());
        Assert.Equal(0, info.GetProperty("stackEntries").GetArrayLength());
        Assert.Equal(detail, info.GetProperty("detail").GetString());
    }

    public async Task DisposeAsync()
    {
        _channel.Dispose();
        await _proxy.DisposeAsync();
        await _backend.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }
}
