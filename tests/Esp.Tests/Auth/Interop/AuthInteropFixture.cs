using Esp.Auth;
using Esp.Tests.Functional;
using Esp.Tests.Infrastructure;
using Esp.Tests.Interop;
using Xunit;
using Esp.Auth.ServiceAccounts;

namespace Esp.Tests.Auth.Interop;

/// <summary>
/// Keys and tokens made by independent libraries (tests/peers/tokens.py), published by a
/// <see cref="KeyServer"/>; our Echo backend; and in front of it one proxy per
/// <c>--user_info_format</c> with the same authenticated config, plus one proxy without any
/// authentication. Providers: PyJWT's RSA and EC keys (JWKS) and a Google service account (its
/// X.509 certificate map, as Google publishes it).
/// </summary>
public sealed class AuthInteropFixture : IAsyncLifetime
{
    public const string ServiceName = "echo.endpoints.auth-test.cloud.goog";
    public const string CallerEmail = "caller@consumer-project.iam.gserviceaccount.com";
    public const string OtherEmail = "intruder@other-project.iam.gserviceaccount.com";
    public const string RsaIssuer = "https://pyjwt-rsa.issuer.test";
    public const string EcIssuer = "pyjwt-ec.issuer.test";
    public const string WrongAudience = "another.endpoints.other-project.cloud.goog";
    public const string SeedsEmail = "user@example.com";

    /// <summary>Claims beyond the registered ones: nesting, arrays, numbers, null, non-ASCII.</summary>
    public const string RichClaims = """{"scope": "read write", "groups": ["admins", "readers"], "nested": {"list": [1, 2.5, true, null], "deep": {"k": "v"}}, "name": "Zoë ☃ 𝄞"}""";

    private readonly Dictionary<UserInfoFormat, TestProxy> _proxies = [];
    private readonly Dictionary<string, string> _tokens = new(StringComparer.Ordinal);
    private string _directory = null!;
    private KeyServer _keys = null!;
    private TestGrpcHost _backend = null!;
    private TestProxy _open = null!;

    internal EchoService Backend { get; } = new();

    internal KeyServer Keys => _keys;

    public string KeyDirectory => Path.Combine(_directory, "keys");

    /// <summary>The service account key file the caller uses (the seeds' downloaded JSON key).</summary>
    public string CallerKeyFile => Path.Combine(_directory, "caller.json");

    internal TestProxy Proxy(UserInfoFormat format) => _proxies[format];

    /// <summary>The proxy with the default <c>--user_info_format</c> (esp).</summary>
    internal TestProxy Default => _proxies[UserInfoFormat.Esp];

    /// <summary>A proxy with no authentication section at all.</summary>
    internal TestProxy Open => _open;

    /// <summary>A token made by the fixture; see <see cref="TokenNames"/>.</summary>
    public string Token(string name) => _tokens[name];

    internal static string Config(KeyServer keys) => $$"""
        type: google.api.Service
        config_version: 3
        name: {{ServiceName}}
        title: Echo with authentication
        apis:
        - name: esp.interop.Echo
        usage:
          rules:
          - selector: "*"
            allow_unregistered_calls: true
        authentication:
          providers:
          - id: pyjwt_rsa
            issuer: {{RsaIssuer}}
            jwks_uri: {{keys.JwksUri("pyjwt-rsa")}}
          - id: pyjwt_ec
            issuer: {{EcIssuer}}
            jwks_uri: {{keys.JwksUri("pyjwt-ec")}}
          - id: google_service_account
            issuer: {{CallerEmail}}
            jwks_uri: {{keys.X509Uri(CallerEmail)}}
          rules:
          - selector: "*"
            requirements:
            - provider_id: pyjwt_rsa
            - provider_id: pyjwt_ec
            - provider_id: google_service_account
          - selector: esp.interop.Echo.ServerStream
            allow_without_credential: true
            requirements:
            - provider_id: pyjwt_rsa
            - provider_id: pyjwt_ec
            - provider_id: google_service_account
        """;

    public async Task InitializeAsync()
    {
        _directory = Directory.CreateTempSubdirectory("esp-auth-interop-").FullName;
        var keys = KeyDirectory;
        _keys = await KeyServer.StartAsync(keys);

        var otherKeyFile = Path.Combine(_directory, "other.json");
        await Task.WhenAll(
            TokenTool.KeygenAsync(Path.Combine(keys, "pyjwt-rsa"), "rsa-key-1", "RSA"),
            TokenTool.KeygenAsync(Path.Combine(keys, "pyjwt-ec"), "ec-key-1", "EC"),
            TokenTool.ServiceAccountKeyAsync(CallerEmail, CallerKeyFile, Path.Combine(keys, CallerEmail)),
            TokenTool.ServiceAccountKeyAsync(OtherEmail, otherKeyFile, Path.Combine(keys, OtherEmail))).DefaultTimeout();

        var rsaPem = Path.Combine(keys, "pyjwt-rsa", "key.pem");
        var ecPem = Path.Combine(keys, "pyjwt-ec", "key.pem");
        var made = new (string Name, Task<string> Token)[]
        {
            (TokenNames.PyJwtRs256, TokenTool.PyJwtAsync(rsaPem, "rsa-key-1", "RS256", RsaIssuer, [ServiceName], "rsa-user-17", "rsa@pyjwt.test", claimsJson: RichClaims)),
            (TokenNames.PyJwtEs256, TokenTool.PyJwtAsync(ecPem, "ec-key-1", "ES256", EcIssuer, [ServiceName, "some-other-audience"], "ec-user-42", "ec@pyjwt.test")),
            (TokenNames.GoogleAuth, TokenTool.GoogleAuthAsync(CallerKeyFile, CallerEmail, ServiceName)),
            (TokenNames.GoogleAuthPadded, TokenTool.GoogleAuthAsync(CallerKeyFile, CallerEmail, ServiceName, unpadded: false)),
            (TokenNames.OtherServiceAccount, TokenTool.GoogleAuthAsync(otherKeyFile, OtherEmail, ServiceName)),
            (TokenNames.WrongAudience, TokenTool.GoogleAuthAsync(CallerKeyFile, CallerEmail, WrongAudience)),
            (TokenNames.Expired, TokenTool.PyJwtAsync(rsaPem, "rsa-key-1", "RS256", RsaIssuer, [ServiceName], "rsa-user-17", "rsa@pyjwt.test", expiresIn: -3600)),
        };
        await Task.WhenAll(made.Select(m => m.Token)).DefaultTimeout();
        foreach (var (name, token) in made)
            _tokens[name] = token.Result;

        _backend = await TestGrpcHost.StartAsync([Backend.CreateDefinition()]);
        var backend = $"grpc://127.0.0.1:{_backend.Port}";
        var config = Config(_keys);
        foreach (var format in new[] { UserInfoFormat.Esp, UserInfoFormat.EspLegacy, UserInfoFormat.EspV2 })
        {
            _proxies[format] = await TestProxy.StartAsync(config, ProtocDescriptors.Interop, backend,
                options => options with { Auth = options.Auth with { UserInfoFormat = format } });
        }
        _open = await TestProxy.StartAsync(TestConfigs.OpenEcho, ProtocDescriptors.Interop, backend);
    }

    public async Task DisposeAsync()
    {
        foreach (var proxy in _proxies.Values)
            await proxy.DisposeAsync();
        if (_open is not null)
            await _open.DisposeAsync();
        if (_backend is not null)
            await _backend.DisposeAsync();
        if (_keys is not null)
            await _keys.DisposeAsync();
        if (_directory is not null)
            Directory.Delete(_directory, recursive: true);
    }
}

/// <summary>The tokens an <see cref="AuthInteropFixture"/> makes.</summary>
public static class TokenNames
{
    /// <summary>PyJWT, RS256, key from the JWKS; <c>sub</c>, <c>email</c> and <see cref="AuthInteropFixture.RichClaims"/>.</summary>
    public const string PyJwtRs256 = "pyjwt-rs256";

    /// <summary>PyJWT, ES256 (P-256), key from the JWKS; <c>aud</c> a list holding the service name.</summary>
    public const string PyJwtEs256 = "pyjwt-es256";

    /// <summary>The seeds' jwt_token_gen.py with the caller's service account key; key from its X.509 map.</summary>
    public const string GoogleAuth = "google-auth";

    /// <summary>The same, encoded by the installed google-auth as it is (Debian's 1.5.1 pads segments with <c>=</c>).</summary>
    public const string GoogleAuthPadded = "google-auth-padded";

    /// <summary>jwt_token_gen.py with another service account's key and email (not configured).</summary>
    public const string OtherServiceAccount = "other-service-account";

    /// <summary>jwt_token_gen.py with the caller's key but another service's name as audience.</summary>
    public const string WrongAudience = "wrong-audience";

    /// <summary>PyJWT RS256 whose <c>exp</c> passed an hour ago (<c>--exp-in -3600</c>).</summary>
    public const string Expired = "expired";
}
