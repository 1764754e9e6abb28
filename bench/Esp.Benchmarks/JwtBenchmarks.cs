using System.Collections.Frozen;
using System.Security.Cryptography;
using System.Text;
using BenchmarkDotNet.Attributes;
using Esp.Auth;
using Esp.Auth.Jwt;
using Esp.Auth.Keys;
using Esp.Auth.ServiceAccounts;
using Esp.Config;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;

namespace Esp.Benchmarks;

/// <summary>
/// The cost of checking a JWT: the raw RSA verify (the floor), a full uncached RS256 check
/// (parse + verify), and a call whose token is already in the verified-token cache.
/// Goal (issue 4): uncached within 25% of the raw verify; a cache hit a small fraction of it.
/// </summary>
[MemoryDiagnoser]
public class JwtBenchmarks : IDisposable
{
    private const string Email = "bench-client@bench-project.iam.gserviceaccount.com";
    private const string Service = "bookstore.endpoints.bench.cloud.goog";
    private ServiceAccountKey _key = null!;
    private string _token = null!;
    private byte[] _signingInput = null!;
    private byte[] _signature = null!;
    private RSA _publicKey = null!;
    private KeySet _keys = null!;
    private JwtAuthenticator _authenticator = null!;
    private ServiceModel _model = null!;
    private MethodPolicy _method = null!;
    private HttpRequest _request = null!;

    [GlobalSetup]
    public void Setup()
    {
        _key = ServiceAccountKey.Create(Email);
        _token = TokenSigner.Sign(_key, Email, [Service], lifetime: TimeSpan.FromDays(1));
        var dot = _token.LastIndexOf('.');
        _signingInput = Encoding.ASCII.GetBytes(_token[..dot]);
        _signature = System.Buffers.Text.Base64Url.DecodeFromChars(_token.AsSpan(dot + 1));
        _publicKey = RSA.Create(_key.Rsa.ExportParameters(false));
        var jwks = $$"""{"keys":[{"kty":"RSA","alg":"RS256","kid":"{{_key.PrivateKeyId}}","n":"{{Base64Url.Encode(_key.Rsa.ExportParameters(false).Modulus)}}","e":"AQAB"}]}""";
        _keys = KeySetParser.Parse(Encoding.UTF8.GetBytes(jwks), out _, out _)!;

        var provider = new AuthProvider { Id = "sa", Issuer = Email, JwksUri = "file:///dev/null" };
        _method = new MethodPolicy
        {
            Selector = "endpoints.examples.bookstore.Bookstore.ListShelves",
            Path = "/endpoints.examples.bookstore.Bookstore/ListShelves",
            Kind = Esp.Grpc.MethodType.Unary,
            Auth = new AuthPolicy([new AuthRequirement("sa", [])], AllowWithoutCredential: false),
            AllowUnregisteredCalls = true,
            ApiKeyLocations = ApiKeyLocations.Default,
            Backend = new BackendRoute { Address = "grpc://127.0.0.1:1", BaseUri = new Uri("http://127.0.0.1:1/") },
        };
        _model = new ServiceModel
        {
            Name = Service,
            ConfigId = "bench",
            MethodsByPath = new Dictionary<string, MethodPolicy> { [_method.Path] = _method }.ToFrozenDictionary(),
            Providers = new Dictionary<string, AuthProvider> { ["sa"] = provider }.ToFrozenDictionary(),
            DefaultBackend = _method.Backend,
        };
        _authenticator = new JwtAuthenticator(_model, new AuthOptions(), new HttpMessageInvoker(new SocketsHttpHandler()), TimeProvider.System, NullLogger.Instance);
        var context = new DefaultHttpContext();
        context.Request.Headers.Authorization = "Bearer " + _token;
        _request = context.Request;
        // The token's first check puts it in the cache (its keys come from the parsed JWKS above).
        if (!JwtParser.TryParse(_token, out var parsed, out var failure))
            throw new InvalidOperationException(failure.Reason);
        _authenticator.Cache.Add(parsed, provider, DateTimeOffset.UtcNow);
    }

    [Benchmark(Baseline = true, Description = "RSA-2048 verify alone (the floor)")]
    public bool RawRsaVerify() => _publicKey.VerifyData(_signingInput, _signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);

    [Benchmark(Description = "RS256 token: parse + verify (uncached)")]
    public bool ParseAndVerify() => JwtParser.TryParse(_token, out var token, out _) && _keys.Verify(token) is null;

    [Benchmark(Description = "call with a cached token: locate, cache hit, claims")]
    public bool CachedCall()
    {
        // A cache hit never waits for keys, so the ValueTask has completed synchronously.
        var pending = _authenticator.AuthenticateAsync(_request, _method, CancellationToken.None);
        return pending.IsCompletedSuccessfully && pending.Result.Failure is null;
    }

    [Benchmark(Description = "X-Endpoint-API-UserInfo (esp format)")]
    public string? UserInfo() => JwtParser.TryParse(_token, out var token, out _) ? UserInfoHeader.Create(token, UserInfoFormat.Esp) : null;

    [GlobalCleanup]
    public void Dispose()
    {
        GC.SuppressFinalize(this);
        _authenticator.Dispose();
        _publicKey.Dispose();
        _key.Dispose();
    }
}
