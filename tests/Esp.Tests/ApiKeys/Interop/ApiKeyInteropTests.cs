using Esp.ApiKeys;
using Esp.Grpc;
using Esp.Grpc.Client;
using Esp.Interop;
using Esp.Tests.Auth.Interop;
using Esp.Tests.Functional;
using Esp.Tests.Infrastructure;
using Esp.Tests.Interop;
using Xunit;

namespace Esp.Tests.ApiKeys.Interop;

/// <summary>
/// Good API keys sent by Python grpcio, @grpc/grpc-js and our client in each of ESP's places to
/// Unary, which needs one: the call reaches the backend with the consumer's three headers, the
/// proxy's only (a client's copies are dropped), and a method open to unregistered callers ignores
/// keys altogether.
/// </summary>
public sealed class ApiKeyInteropTests(ApiKeyInteropFixture fixture) : IClassFixture<ApiKeyInteropFixture>
{
    public static TheoryData<string, string> Everywhere { get; } = KeyCases.Everywhere();

    public static TheoryData<string> Clients { get; } = [.. AuthCalls.Senders];

    public static TheoryData<string, string> PercentEncoded { get; } = PercentEncodedCases();

    [Theory]
    [MemberData(nameof(Everywhere))]
    public async Task ValidKey_Forwarded_BackendGetsConsumerHeaders(string client, string location)
    {
        var call = await ApiKeyCalls.UnaryAsync(client, fixture.Proxy, [new SentKey(location, fixture.Valid.Key)]).DefaultTimeout();

        KeyedCallAssert.Forwarded(fixture.Backend, call, fixture.Valid.Record);
    }

    /// <summary>A key restricted by its selectors to the very method called.</summary>
    [Fact]
    public async Task KeyForThisMethodOnly_Forwarded_BackendGetsConsumerHeaders()
    {
        var call = await ApiKeyCalls.UnaryAsync(AuthCalls.CSharp, fixture.Proxy, [new SentKey(KeyLocations.Header, fixture.UnaryOnly.Key)]).DefaultTimeout();

        KeyedCallAssert.Forwarded(fixture.Backend, call, fixture.UnaryOnly.Record);
    }

    /// <summary>The client's own consumer headers are replaced by the proxy's, not added to them.</summary>
    [Theory]
    [MemberData(nameof(Clients))]
    public async Task ValidKey_SpoofedConsumerHeaders_BackendGetsOnlyTheProxys(string client)
    {
        var call = await ApiKeyCalls.UnaryAsync(client, fixture.Proxy, [new SentKey(KeyLocations.Header, fixture.Valid.Key)],
            (KeyedCallAssert.ConsumerName, "admin"), (KeyedCallAssert.ConsumerType, "PROJECT"), (KeyedCallAssert.ConsumerNumber, "1"), ("x-other", "kept")).DefaultTimeout();

        var received = KeyedCallAssert.Forwarded(fixture.Backend, call, fixture.Valid.Record);
        Assert.Equal(["kept"], received.Values("x-other"));
    }

    /// <summary>The client percent-encodes the key in the query; the proxy decodes it (<c>%2B</c> is a plus, not a space).</summary>
    [Theory]
    [MemberData(nameof(PercentEncoded))]
    public async Task KeyNeedingPercentEncoding_InQuery_DecodedAndForwarded(string client, string location)
    {
        var call = await ApiKeyCalls.UnaryAsync(client, fixture.Proxy, [new SentKey(location, fixture.UrlUnsafe.Key)]).DefaultTimeout();

        KeyedCallAssert.Forwarded(fixture.Backend, call, fixture.UrlUnsafe.Record);
    }

    /// <summary>
    /// ServerStream allows unregistered calls: the key is not even read (as in ESPv1 and ESPv2), so an
    /// unknown one passes, and the backend hears of no consumer, whatever the client claims.
    /// </summary>
    [Theory]
    [MemberData(nameof(Clients))]
    public async Task OpenMethod_UnknownKeyAndSpoofedConsumerHeaders_ForwardedWithoutConsumer(string client)
    {
        var callId = Guid.NewGuid().ToString("N");
        (string, string)[] metadata = [(RecordingEchoBackend.CallIdHeader, callId), (KeyedCallAssert.ConsumerName, "admin"),
            (KeyedCallAssert.ConsumerType, "PROJECT"), (KeyedCallAssert.ConsumerNumber, "1")];
        SentKey[] keys = [new(KeyLocations.Header, fixture.Unknown)];

        if (client == AuthCalls.CSharp)
        {
            await OurServerStreamAsync(keys, metadata).DefaultTimeout();
        }
        else
        {
            var (exitCode, output) = await ApiKeyCalls.PeerCaseAsync(client, "server_stream", fixture.Proxy.Target, keys, metadata).DefaultTimeout();
            Assert.True(exitCode == 0, output);
        }

        var received = fixture.Backend.Find(callId);
        Assert.NotNull(received);
        Assert.Equal("/esp.interop.Echo/ServerStream", received.Path);
        Assert.Empty(received.Values(KeyedCallAssert.ConsumerName));
        Assert.Empty(received.Values(KeyedCallAssert.ConsumerType));
        Assert.Empty(received.Values(KeyedCallAssert.ConsumerNumber));
    }

    private static TheoryData<string, string> PercentEncodedCases() => new()
    {
        { AuthCalls.CSharp, KeyLocations.QueryKey },
        { AuthCalls.CSharp, KeyLocations.QueryApiKey },
        { AuthCalls.Python, KeyLocations.QueryApiKey },
        { AuthCalls.Node, KeyLocations.QueryKey },
    };

    private async Task OurServerStreamAsync(SentKey[] keys, (string Key, string Value)[] metadata)
    {
        var headers = new Metadata();
        foreach (var (key, value) in metadata)
            headers.Add(key, value);
        foreach (var sent in keys)
            headers.Add("x-api-key", sent.Key);
        using var channel = GrpcChannel.ForAddress(fixture.Proxy.Address);
        using var call = channel.ServerStreamingCall(EchoClientCases.ServerStream, new EchoRequest { ResponseCount = 2 },
            new CallOptions { Timeout = TimeSpan.FromSeconds(10), Headers = headers });
        var count = 0;
        while (await call.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout())
            count++;
        Assert.Equal(2, count);
        Assert.Equal(StatusCode.OK, call.GetStatus().Code);
    }
}

/// <summary>
/// Missing, empty, unknown, revoked, expired and wrong-method API keys sent to Unary by Python grpcio,
/// @grpc/grpc-js and our client: each gets ESP's exact status and message, and never reaches the backend.
/// </summary>
public sealed class ApiKeyRefusalInteropTests(ApiKeyInteropFixture fixture) : IClassFixture<ApiKeyInteropFixture>
{
    private const string Unregistered = "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.";
    private const string NotValid = "API key not valid. Please pass a valid API key.";

    public static TheoryData<string> Clients { get; } = [.. AuthCalls.Senders];

    public static TheoryData<string, string> EmptyCases { get; } = KeyCases.OursEverywhere(KeyLocations.QueryKey, KeyLocations.Header);

    public static TheoryData<string, string> UnknownCases { get; } = KeyCases.OursEverywhere(KeyLocations.Header, KeyLocations.QueryApiKey);

    public static TheoryData<string, string> RevokedCases { get; } = KeyCases.OursEverywhere(KeyLocations.QueryKey, KeyLocations.Header);

    public static TheoryData<string, string> ExpiredCases { get; } = KeyCases.OursEverywhere(KeyLocations.QueryApiKey, KeyLocations.QueryKey);

    public static TheoryData<string, string> OtherMethodCases { get; } = KeyCases.OursEverywhere(KeyLocations.Header, KeyLocations.QueryApiKey);

    [Theory]
    [MemberData(nameof(Clients))]
    public async Task NoKey_Unauthenticated_NotForwarded(string client)
    {
        var call = await ApiKeyCalls.UnaryAsync(client, fixture.Proxy, []).DefaultTimeout();

        KeyedCallAssert.Refused(fixture.Backend, call, "UNAUTHENTICATED", Unregistered);
    }

    /// <summary>The place is there but empty (<c>x-api-key:</c>, <c>?key=</c>): no key either.</summary>
    [Theory]
    [MemberData(nameof(EmptyCases))]
    public async Task EmptyKey_Unauthenticated_NotForwarded(string client, string location)
    {
        var call = await ApiKeyCalls.UnaryAsync(client, fixture.Proxy, [new SentKey(location, "")]).DefaultTimeout();

        KeyedCallAssert.Refused(fixture.Backend, call, "UNAUTHENTICATED", Unregistered);
    }

    [Theory]
    [MemberData(nameof(UnknownCases))]
    public async Task UnknownKey_InvalidArgument_NotForwarded(string client, string location)
    {
        var call = await ApiKeyCalls.UnaryAsync(client, fixture.Proxy, [new SentKey(location, fixture.Unknown)]).DefaultTimeout();

        KeyedCallAssert.Refused(fixture.Backend, call, "INVALID_ARGUMENT", NotValid);
    }

    /// <summary>The store has the key with <c>disabled: true</c>, as <c>esp apikeys revoke</c> leaves it.</summary>
    [Theory]
    [MemberData(nameof(RevokedCases))]
    public async Task RevokedKey_InvalidArgument_NotForwarded(string client, string location)
    {
        var call = await ApiKeyCalls.UnaryAsync(client, fixture.Proxy, [new SentKey(location, fixture.Revoked.Key)]).DefaultTimeout();

        KeyedCallAssert.Refused(fixture.Backend, call, "INVALID_ARGUMENT", NotValid);
    }

    /// <summary>The fixture's clock stands an hour past the key's <c>expires</c>.</summary>
    [Theory]
    [MemberData(nameof(ExpiredCases))]
    public async Task ExpiredKey_InvalidArgument_NotForwarded(string client, string location)
    {
        var call = await ApiKeyCalls.UnaryAsync(client, fixture.Proxy, [new SentKey(location, fixture.Expired.Key)]).DefaultTimeout();

        KeyedCallAssert.Refused(fixture.Backend, call, "INVALID_ARGUMENT", NotValid);
    }

    /// <summary>A good key whose selectors name only Bidi, sent to Unary.</summary>
    [Theory]
    [MemberData(nameof(OtherMethodCases))]
    public async Task KeyForOtherMethod_PermissionDenied_NotForwarded(string client, string location)
    {
        var call = await ApiKeyCalls.UnaryAsync(client, fixture.Proxy, [new SentKey(location, fixture.BidiOnly.Key)]).DefaultTimeout();

        KeyedCallAssert.Refused(fixture.Backend, call, "PERMISSION_DENIED", $"Requests to this API {ApiKeyInteropFixture.ServiceName} method esp.interop.Echo.Unary are blocked.");
    }

    /// <summary>ESP reads query <c>key</c> before the header: the first key found decides, even when a later one is good.</summary>
    [Theory]
    [MemberData(nameof(Clients))]
    public async Task UnknownQueryKeyAndValidHeaderKey_QueryReadFirst_InvalidArgument(string client)
    {
        var call = await ApiKeyCalls.UnaryAsync(client, fixture.Proxy,
            [new SentKey(KeyLocations.QueryKey, fixture.Unknown), new SentKey(KeyLocations.Header, fixture.Valid.Key)]).DefaultTimeout();

        KeyedCallAssert.Refused(fixture.Backend, call, "INVALID_ARGUMENT", NotValid);
    }
}

/// <summary>A key's <c>expires</c> as the proxy's clock reaches it: good one second before, refused from that instant on.</summary>
public sealed class ApiKeyExpiryTests : IAsyncLifetime
{
    private readonly string _directory = Directory.CreateTempSubdirectory("esp-apikey-expiry-").FullName;
    private readonly FakeTimeProvider _time = new(ApiKeyInteropFixture.Start);
    private readonly RecordingEchoBackend _backend = new();
    private readonly StoredKey _key = StoredKey.Make("trial-app", limit: r => r with { Expires = ApiKeyInteropFixture.Start.AddHours(1) });
    private TestGrpcHost? _host;
    private TestProxy? _proxy;

    public async Task InitializeAsync()
    {
        var store = Path.Combine(_directory, "keys.yaml");
        ApiKeyStoreFile.Update(store, _ => [_key.Record]);
        _host = await TestGrpcHost.StartAsync([_backend.CreateDefinition()]).DefaultTimeout();
        _proxy = await ApiKeyInteropFixture.StartProxyAsync(store, _host.Port, _time).DefaultTimeout();
    }

    [Fact]
    public async Task ExpiringKey_ClockReachesExpires_ForwardedUntilThenInvalidArgument()
    {
        SentKey[] key = [new(KeyLocations.Header, _key.Key)];

        var fresh = await ApiKeyCalls.UnaryAsync(AuthCalls.CSharp, _proxy!, key).DefaultTimeout();
        _time.Advance(TimeSpan.FromHours(1) - TimeSpan.FromSeconds(1));
        var lastSecond = await ApiKeyCalls.UnaryAsync(AuthCalls.CSharp, _proxy!, key).DefaultTimeout();
        _time.Advance(TimeSpan.FromSeconds(1));
        var expired = await ApiKeyCalls.UnaryAsync(AuthCalls.CSharp, _proxy!, key).DefaultTimeout();

        KeyedCallAssert.Forwarded(_backend, fresh, _key.Record);
        KeyedCallAssert.Forwarded(_backend, lastSecond, _key.Record);
        KeyedCallAssert.Refused(_backend, expired, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.");
    }

    public async Task DisposeAsync()
    {
        if (_proxy is not null)
            await _proxy.DisposeAsync();
        if (_host is not null)
            await _host.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }
}
