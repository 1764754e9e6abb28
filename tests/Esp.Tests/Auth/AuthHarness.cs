using System.Collections.Frozen;
using System.Text.Json.Nodes;
using Esp.Auth;
using Esp.Auth.Jwt;
using Esp.Config;
using Esp.Grpc;
using Esp.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Xunit;

namespace Esp.Tests.Auth;

/// <summary>Service models built in code, for the authenticator tests.</summary>
internal static class Models
{
    public static readonly BackendRoute Backend = new() { Address = "grpc://127.0.0.1:1", BaseUri = new Uri("http://127.0.0.1:1") };

    public static AuthProvider Provider(string id, string issuer, string? jwksUri, string[]? audiences = null, JwtLocation[]? locations = null) => new()
    {
        Id = id,
        Issuer = issuer,
        JwksUri = jwksUri,
        Audiences = audiences ?? [],
        JwtLocations = locations ?? [],
    };

    /// <summary>A unary method <c>/test.Api/NAME</c>; no requirements means no authentication rule.</summary>
    public static MethodPolicy Method(string path, bool allowWithoutCredential, params AuthRequirement[] requirements) => new()
    {
        Selector = "test.Api." + path[(path.LastIndexOf('/') + 1)..],
        Path = path,
        Kind = MethodType.Unary,
        Auth = requirements.Length == 0 ? null : new AuthPolicy(requirements, allowWithoutCredential),
        AllowUnregisteredCalls = true,
        ApiKeyLocations = ApiKeyLocations.Default,
        Backend = Backend,
    };

    public static MethodPolicy Method(string path, params AuthRequirement[] requirements) => Method(path, false, requirements);

    public static AuthRequirement Requires(string providerId, params string[] audiences) => new(providerId, audiences);

    public static ServiceModel Service(string name, IEnumerable<AuthProvider> providers, params MethodPolicy[] methods) => new()
    {
        Name = name,
        ConfigId = "test",
        MethodsByPath = methods.ToFrozenDictionary(m => m.Path, StringComparer.Ordinal),
        Providers = providers.ToFrozenDictionary(p => p.Id, StringComparer.Ordinal),
        DefaultBackend = Backend,
    };
}

/// <summary>
/// A <see cref="JwtAuthenticator"/> as the proxy builds it, over a fake clock, a capturing logger and
/// a real HTTP client talking to an in-process <see cref="KeyServer"/>. Keys are fetched on first
/// need (no prefetch), so a test sees every fetch in <see cref="FetchCount"/>.
/// </summary>
internal sealed class AuthHarness : IAsyncDisposable
{
    public const string ServiceName = "echo.endpoints.test.cloud.goog";
    public const string Issuer = "https://issuer.test";
    public const string OtherIssuer = "https://other.test";
    public const string CustomIssuer = "https://custom.test";
    public const string Audience = "echo-audience";

    /// <summary>Requires provider <c>main</c> (<see cref="Issuer"/>, keys at /jwks, audience <see cref="Audience"/>).</summary>
    public const string Strict = "/test.Api/Strict";

    /// <summary>Provider <c>main</c>, <c>allow_without_credential: true</c>.</summary>
    public const string Optional = "/test.Api/Optional";

    /// <summary>Requires provider <c>other</c> (<see cref="OtherIssuer"/>, keys at /other-jwks: <see cref="TestKeys.Rsa2"/>).</summary>
    public const string Other = "/test.Api/Other";

    /// <summary>Accepts <c>main</c> or <c>other</c>.</summary>
    public const string Either = "/test.Api/Either";

    /// <summary>Provider <c>main</c> with the rule adding audience <c>extra-aud</c>.</summary>
    public const string ExtraAudience = "/test.Api/ExtraAudience";

    /// <summary>Requires provider <c>custom</c>, whose jwt_locations are x-jwt header, "JWT "-prefixed x-prefixed header, query jwt, cookie jwt_cookie.</summary>
    public const string Custom = "/test.Api/Custom";

    private readonly HttpMessageInvoker _http = new(new SocketsHttpHandler { AllowAutoRedirect = false, UseProxy = false });

    private readonly bool _ownsServer;

    private AuthHarness(KeyServer server, bool ownsServer)
    {
        Server = server;
        _ownsServer = ownsServer;
    }

    public FakeTimeProvider Time { get; } = new();

    public KeyServer Server { get; }

    public TestLogger Logger { get; } = new();

    public ServiceModel Model { get; private set; } = null!;

    public JwtAuthenticator Authenticator { get; private set; } = null!;

    /// <summary>The fake clock, in seconds since the epoch (what exp, nbf and iat are compared with).</summary>
    public long Now => Time.GetUtcNow().ToUnixTimeSeconds();

    public VerifiedTokenCache Cache => Authenticator.Cache;

    /// <param name="model">The service model (default: <see cref="DefaultModel"/>).</param>
    /// <param name="options">The flags (default: <see cref="AuthOptions"/> defaults).</param>
    /// <param name="sharedServer">A key server to use (and leave running) instead of a new one.</param>
    public static async Task<AuthHarness> StartAsync(Func<KeyServer, ServiceModel>? model = null, Func<KeyServer, AuthOptions>? options = null, KeyServer? sharedServer = null)
    {
        var server = sharedServer ?? ServeDefaults(await KeyServer.StartAsync());
        var harness = new AuthHarness(server, ownsServer: sharedServer is null);
        harness.Model = (model ?? DefaultModel)(server);
        harness.Authenticator = new JwtAuthenticator(harness.Model, options?.Invoke(server) ?? new AuthOptions(), harness._http, harness.Time, harness.Logger);
        return harness;
    }

    /// <summary>/jwks: <see cref="TestKeys.DefaultJwks"/>; /other-jwks: <see cref="TestKeys.Rsa2"/>.</summary>
    public static KeyServer ServeDefaults(KeyServer server)
    {
        server.Serve("/jwks", TestKeys.DefaultJwks);
        server.Serve("/other-jwks", TestTokens.Jwks(TestKeys.Rsa2));
        return server;
    }

    public static ServiceModel DefaultModel(KeyServer server)
    {
        AuthProvider[] providers =
        [
            Models.Provider("main", Issuer, server.Url("/jwks"), [Audience]),
            Models.Provider("other", OtherIssuer, server.Url("/other-jwks"), [Audience]),
            Models.Provider("custom", CustomIssuer, server.Url("/jwks"), [Audience],
            [
                new JwtLocation(JwtLocationKind.Header, "x-jwt"),
                new JwtLocation(JwtLocationKind.Header, "x-prefixed", "JWT "),
                new JwtLocation(JwtLocationKind.Query, "jwt"),
                new JwtLocation(JwtLocationKind.Cookie, "jwt_cookie"),
            ]),
        ];
        return Models.Service(ServiceName, providers,
            Models.Method(Strict, Models.Requires("main")),
            Models.Method(Optional, allowWithoutCredential: true, Models.Requires("main")),
            Models.Method(Other, Models.Requires("other")),
            Models.Method(Either, Models.Requires("main"), Models.Requires("other")),
            Models.Method(ExtraAudience, Models.Requires("main", "extra-aud")),
            Models.Method(Custom, Models.Requires("custom")));
    }

    /// <summary>A good token for <c>main</c>: signed by <paramref name="key"/> (default RSA), iss, aud, iat now, exp in an hour.</summary>
    public string Token(TestKey? key = null, string? iss = Issuer, string[]? aud = null, long? exp = null, JsonObject? extra = null, string? kid = "", string? alg = null) =>
        TestTokens.Create(key ?? TestKeys.Rsa, TestTokens.Payload(iss, aud ?? [Audience], Now, exp ?? Now + 3600, extra: extra), alg, kid);

    /// <summary>A token with exactly this payload, signed by <paramref name="key"/> (default RSA) with its kid.</summary>
    public static string Signed(string payloadJson, TestKey? key = null) => TestTokens.Create(key ?? TestKeys.Rsa, payloadJson);

    public Task<AuthResult> CallAsync(string path, Action<HttpRequest> setup, CancellationToken cancellationToken = default)
    {
        var context = new DefaultHttpContext();
        setup(context.Request);
        return Authenticator.AuthenticateAsync(context.Request, Model.MethodsByPath[path], cancellationToken).DefaultTimeout();
    }

    public Task<AuthResult> BearerAsync(string token, string path = Strict, CancellationToken cancellationToken = default) =>
        CallAsync(path, request => request.Headers.Authorization = "Bearer " + token, cancellationToken);

    /// <summary>How many key fetches provider <paramref name="provider"/> has started.</summary>
    public int FetchCount(string provider = "main") => Authenticator.KeySources[provider].FetchCount;

    public async ValueTask DisposeAsync()
    {
        Authenticator?.Dispose();
        if (_ownsServer)
            await Server.DisposeAsync();
        _http.Dispose();
    }
}

/// <summary>One key server with the default routes for a whole test class (each test still gets its own authenticator).</summary>
public sealed class SharedKeyServer : IAsyncLifetime
{
    internal KeyServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = AuthHarness.ServeDefaults(await KeyServer.StartAsync());

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>The reasons of AuthFailure, spelled out: the tests pin the wording callers see.</summary>
internal static class Reasons
{
    public const string Missing = "Jwt is missing";
    public const string BadFormat = "Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections";
    public const string TooLarge = "Jwt is larger than 16384 bytes";
    public const string HeaderBadBase64 = "Jwt header is an invalid Base64url encoded";
    public const string HeaderBadJson = "Jwt header is an invalid JSON";
    public const string HeaderBadAlg = "Jwt header [alg] field is required and must be a string";
    public const string AlgNotSupported = "Jwt header [alg] is not supported";
    public const string HeaderBadKid = "Jwt header [kid] field is not a string";
    public const string UnknownCrit = "Jwt header [crit] names extensions this proxy does not understand";
    public const string PayloadBadBase64 = "Jwt payload is an invalid Base64url encoded";
    public const string PayloadBadJson = "Jwt payload is an invalid JSON";
    public const string SignatureBadBase64 = "Jwt signature is an invalid Base64url encoded";
    public const string AudNotStringOrList = "Jwt payload [aud] field is not a string or string list";
    public const string UnknownIssuer = "Jwt issuer is not configured";
    public const string AudienceNotAllowed = "Audiences in Jwt are not allowed";
    public const string Expired = "Jwt is expired";
    public const string NotYetValid = "Jwt not yet valid";
    public const string VerificationFails = "Jwt verification fails";
    public const string NoMatchingKey = "Jwks doesn't have key to match kid or alg from Jwt";
    public const string FetchFailed = "Jwks remote fetch is failed";
}

internal static class AuthAssert
{
    /// <summary>Refused with exactly this code and reason.</summary>
    public static void Refused(AuthResult result, StatusCode code, string reason) => Failure(result.Failure, code, reason);

    /// <summary>UNAUTHENTICATED with exactly this reason.</summary>
    public static void Unauthenticated(AuthResult result, string reason) => Failure(result.Failure, StatusCode.Unauthenticated, reason);

    public static void Failure(AuthFailure? failure, StatusCode code, string reason)
    {
        Assert.True(failure is not null, $"expected {code} '{reason}', but it was accepted");
        Assert.Equal(reason, failure.Value.Reason);
        Assert.Equal(code, failure.Value.Code);
    }

    /// <summary>Accepted with an identity; the identity.</summary>
    public static JwtToken Verified(AuthResult result)
    {
        Assert.True(result.Failure is null, $"expected the token to verify, but: {result.Failure}");
        Assert.NotNull(result.Identity);
        return result.Identity;
    }
}
