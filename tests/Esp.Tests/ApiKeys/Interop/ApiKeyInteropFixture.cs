using Esp.ApiKeys;
using Esp.Hosting;
using Esp.Tests.Functional;
using Esp.Tests.Infrastructure;
using Xunit;

namespace Esp.Tests.ApiKeys.Interop;

/// <summary>An API key the test knows and the record the store keeps of it (its hash, consumer and limits).</summary>
internal sealed record StoredKey(string Key, ApiKeyRecord Record)
{
    public static StoredKey Make(string consumer, string? key = null, Func<ApiKeyRecord, ApiKeyRecord>? limit = null)
    {
        key ??= ApiKeySecrets.NewKey();
        var record = new ApiKeyRecord { Consumer = consumer, Sha256 = ApiKeySecrets.Hash(key), Created = ApiKeyInteropFixture.Start.AddDays(-1) };
        return new StoredKey(key, limit?.Invoke(record) ?? record);
    }
}

/// <summary>
/// The in-process proxy in front of a <see cref="RecordingEchoBackend"/>, with a key store file written by
/// <see cref="ApiKeyStoreFile.Update"/> in a temporary directory and a clock of its own. Every Echo method
/// needs an API key except ServerStream (<c>allow_unregistered_calls</c>). The clock starts at
/// <see cref="Start"/>, when every stored key is good, and is moved two hours on once the proxy runs:
/// past the <see cref="Expired"/> key's <c>expires</c>.
/// </summary>
public sealed class ApiKeyInteropFixture : IAsyncLifetime
{
    public const string ServiceName = "echo.endpoints.apikey-test.cloud.goog";

    public static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public const string Config = $$"""
        type: google.api.Service
        config_version: 3
        name: {{ServiceName}}
        title: Echo with API keys
        apis:
        - name: esp.interop.Echo
        usage:
          rules:
          - selector: esp.interop.Echo.ServerStream
            allow_unregistered_calls: true
        """;

    private readonly string _directory = Directory.CreateTempSubdirectory("esp-apikey-interop-").FullName;
    private readonly FakeTimeProvider _time = new(Start);
    private TestGrpcHost? _backend;
    private TestProxy? _proxy;

    internal RecordingEchoBackend Backend { get; } = new();

    internal TestProxy Proxy => _proxy!;

    /// <summary>Every method, no expiry.</summary>
    internal StoredKey Valid { get; } = StoredKey.Make("mobile-app");

    /// <summary>Restricted to Unary, the method the matrix calls.</summary>
    internal StoredKey UnaryOnly { get; } = StoredKey.Make("unary-only-app", limit: r => r with { Selectors = ["esp.interop.Echo.Unary"] });

    /// <summary>Restricted to Bidi: the wrong method for Unary.</summary>
    internal StoredKey BidiOnly { get; } = StoredKey.Make("bidi-only-app", limit: r => r with { Selectors = ["esp.interop.Echo.Bidi"] });

    /// <summary>In the store, <c>disabled: true</c> (what <c>esp apikeys revoke</c> writes).</summary>
    internal StoredKey Revoked { get; } = StoredKey.Make("retired-app", limit: r => r with { Disabled = true });

    /// <summary>Expires an hour after <see cref="Start"/>; the fixture's clock is past that.</summary>
    internal StoredKey Expired { get; } = StoredKey.Make("trial-app", limit: r => r with { Expires = Start.AddHours(1) });

    /// <summary>Not one of ours (its hash is nowhere in the store), but made the same way.</summary>
    internal string Unknown { get; } = ApiKeySecrets.NewKey();

    /// <summary>
    /// A key only a hand-written store would hold, with characters a query must percent-encode (space,
    /// <c>+</c>, which a form decoder turns into a space, <c>/ = &amp; ? # %</c>, and non-ASCII).
    /// </summary>
    internal StoredKey UrlUnsafe { get; } = StoredKey.Make("url-app", key: "a key+with/=&?#%sé");

    public async Task InitializeAsync()
    {
        var store = Path.Combine(_directory, "keys.yaml");
        var written = ApiKeyStoreFile.Update(store, _ => [.. new[] { Valid, UnaryOnly, BidiOnly, Revoked, Expired, UrlUnsafe }.Select(k => k.Record)]);
        if (written.Store is null)
            throw new InvalidOperationException("The key store was not written: " + string.Join("; ", written.Errors));

        _backend = await TestGrpcHost.StartAsync([Backend.CreateDefinition()]).DefaultTimeout();
        _proxy = await StartProxyAsync(store, _backend.Port, _time).DefaultTimeout();
        _time.Advance(TimeSpan.FromHours(2));
    }

    /// <summary>The proxy with <see cref="Config"/>, the store at <paramref name="storePath"/> (as <c>--api_keys</c>) and the clock.</summary>
    internal static Task<TestProxy> StartProxyAsync(string storePath, int backendPort, TimeProvider time) =>
        TestProxy.StartAsync(Config, ProtocDescriptors.Interop, $"grpc://127.0.0.1:{backendPort}",
            options => options with { ApiKeys = new ApiKeyStoreOptions(storePath, ApiKeyStoreFile.Read(storePath)) }, time);

    public async Task DisposeAsync()
    {
        if (_proxy is not null)
            await _proxy.DisposeAsync();
        if (_backend is not null)
            await _backend.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }
}
