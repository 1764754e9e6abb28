using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Esp.Auth.Keys;
using Esp.Tests.Infrastructure;
using Esp.Tools;
using Xunit;
using Esp.Auth.ServiceAccounts;

namespace Esp.Tests.Tools;

/// <summary>The key server (<c>esp keys serve</c>) in process: Google's two documents per account, read back as the proxy reads them.</summary>
public sealed class KeyServerTests : IAsyncLifetime
{
    private const string Service = "bookstore.endpoints.producer-proj.cloud.goog";

    private static readonly HttpClient Http = new() { Timeout = Infrastructure.TaskExtensions.DefaultTimeoutSpan };

    private readonly KeyFiles _files = new();
    private readonly CapturedLog _log = new();
    private KeyServer _server = null!;

    public async Task InitializeAsync() => _server = await TestKeyServer.StartAsync(_files.Directory, _log);

    [Fact]
    public async Task Serve_X509Map_LoadsInKeySetParserAndVerifiesOurToken()
    {
        using var key = _files.Create("client.json");
        var token = TokenSigner.Sign(key, KeyFiles.Email, [Service]);

        var (status, body) = await GetAsync(_server.X509Url(KeyFiles.Email));

        Assert.Equal(HttpStatusCode.OK, status);
        using var document = JsonDocument.Parse(body);
        var entry = Assert.Single(document.RootElement.EnumerateObject());
        Assert.Equal(key.PrivateKeyId, entry.Name);
        Assert.StartsWith("-----BEGIN CERTIFICATE-----\n", entry.Value.GetString(), StringComparison.Ordinal);
        ProxyView.AssertVerifies(body, token);
    }

    [Fact]
    public async Task Serve_Jwks_LoadsInKeySetParserAndVerifiesOurToken()
    {
        using var key = _files.Create("client.json");
        var token = TokenSigner.Sign(key, KeyFiles.Email, [Service, "other"]);

        var (status, body) = await GetAsync(_server.JwksUrl(KeyFiles.Email));

        Assert.Equal(HttpStatusCode.OK, status);
        using var document = JsonDocument.Parse(body);
        var jwk = Assert.Single(document.RootElement.GetProperty("keys").EnumerateArray());
        Assert.Equal(["kty", "alg", "use", "kid", "n", "e"], jwk.EnumerateObject().Select(p => p.Name));
        Assert.Equal("RSA", jwk.GetProperty("kty").GetString());
        Assert.Equal("RS256", jwk.GetProperty("alg").GetString());
        Assert.Equal("sig", jwk.GetProperty("use").GetString());
        Assert.Equal(key.PrivateKeyId, jwk.GetProperty("kid").GetString());
        Assert.Equal("AQAB", jwk.GetProperty("e").GetString());
        ProxyView.AssertVerifies(body, token);
    }

    [Fact]
    public async Task Serve_Certificate_SelfSignedForTheEmailTenYearsFromAnHourBeforeTheFile()
    {
        using var key = _files.Create("client.json");
        var written = new DateTimeOffset(File.GetLastWriteTimeUtc(_files.PathOf("client.json")), TimeSpan.Zero);

        var (_, body) = await GetAsync(_server.X509Url(KeyFiles.Email));

        using var document = JsonDocument.Parse(body);
        using var certificate = X509Certificate2.CreateFromPem(document.RootElement.GetProperty(key.PrivateKeyId).GetString());
        Assert.Equal($"CN={KeyFiles.Email}", certificate.Subject);
        Assert.Equal(certificate.Subject, certificate.Issuer);
        var notBefore = new DateTimeOffset(certificate.NotBefore.ToUniversalTime());
        Assert.InRange((written - notBefore).TotalMinutes, 59, 61);
        Assert.Equal(notBefore.AddYears(10), new DateTimeOffset(certificate.NotAfter.ToUniversalTime()));
        using var published = certificate.GetRSAPublicKey()!;
        Assert.Equal(key.Rsa.ExportParameters(false).Modulus, published.ExportParameters(false).Modulus);
    }

    [Fact]
    public async Task Serve_RepeatedRequestsAndAnotherServer_SameDocuments()
    {
        _files.Create("client.json").Dispose();
        await using var second = await TestKeyServer.StartAsync(_files.Directory, new CapturedLog());

        var first = (await GetAsync(_server.X509Url(KeyFiles.Email))).Body;
        var again = (await GetAsync(_server.X509Url(KeyFiles.Email))).Body;
        var elsewhere = (await GetAsync(second.X509Url(KeyFiles.Email))).Body;

        Assert.Equal(first, again);
        Assert.Equal(first, elsewhere);
    }

    [Fact]
    public async Task Serve_UnknownEmail_404WithJsonError()
    {
        _files.Create("client.json").Dispose();

        foreach (var url in new[] { _server.X509Url("nobody@consumer-proj.iam.gserviceaccount.com"), _server.JwksUrl("nobody@consumer-proj.iam.gserviceaccount.com") })
        {
            using var response = await Http.GetAsync(url).DefaultTimeout();

            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
            using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync().DefaultTimeout());
            var error = document.RootElement.GetProperty("error");
            Assert.Equal(404, error.GetProperty("code").GetInt32());
            Assert.Equal("NOT_FOUND", error.GetProperty("status").GetString());
            Assert.Equal("No public keys for service account 'nobody@consumer-proj.iam.gserviceaccount.com'.", error.GetProperty("message").GetString());
        }
    }

    [Fact]
    public async Task Serve_OtherPath_404AndOtherMethod_405()
    {
        _files.Create("client.json").Dispose();

        var (status, _) = await GetAsync(new Uri(_server.BaseAddress, "/oauth2/v1/certs"));
        using var post = await Http.PostAsync(_server.JwksUrl(KeyFiles.Email), new StringContent("")).DefaultTimeout();

        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, post.StatusCode);
        Assert.Equal(["GET", "HEAD"], post.Content.Headers.Allow);
    }

    [Fact]
    public async Task Serve_PercentEncodedEmailAndGoogleAliases_SameDocuments()
    {
        _files.Create("client.json").Dispose();
        var encoded = Uri.EscapeDataString(KeyFiles.Email);

        var x509 = (await GetAsync(_server.X509Url(KeyFiles.Email))).Body;
        var jwks = (await GetAsync(_server.JwksUrl(KeyFiles.Email))).Body;

        Assert.EndsWith("/robot/v1/metadata/x509/" + KeyFiles.Email, _server.X509Url(KeyFiles.Email).AbsoluteUri, StringComparison.Ordinal);
        Assert.Equal(x509, (await GetAsync(new Uri(_server.BaseAddress, "/robot/v1/metadata/x509/" + encoded))).Body);
        Assert.Equal(x509, (await GetAsync(new Uri(_server.BaseAddress, "/service_accounts/v1/metadata/x509/" + encoded))).Body);
        Assert.Equal(jwks, (await GetAsync(new Uri(_server.BaseAddress, "/service_accounts/v1/jwk/" + encoded))).Body);
        Assert.Equal(jwks, (await GetAsync(new Uri(_server.BaseAddress, "/robot/v1/metadata/jwk/" + KeyFiles.Email.ToUpperInvariant()))).Body);
    }

    [Fact]
    public async Task Serve_KeyAddedWhileServing_PublishedWithoutRestart()
    {
        const string Late = "late-comer@consumer-proj.iam.gserviceaccount.com";
        Assert.Equal(HttpStatusCode.NotFound, (await GetAsync(_server.JwksUrl(Late))).Status);

        using var key = _files.Create("late.json", Late);
        var (status, body) = await GetAsync(_server.JwksUrl(Late));

        Assert.Equal(HttpStatusCode.OK, status);
        ProxyView.AssertVerifies(body, TokenSigner.Sign(key, Late, [Service]));
        Assert.Contains(_log.Lines, l => l.StartsWith($"Information: Published {Late} key {key.PrivateKeyId} from {_files.PathOf("late.json")}: " +
            $"{_server.X509Url(Late)} {_server.JwksUrl(Late)}", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Serve_SecondKeyOfAnAccount_BothPublishedForRotation()
    {
        using var first = _files.Create("a.json");
        using var second = _files.Create("b.json");

        var x509 = (await GetAsync(_server.X509Url(KeyFiles.Email))).Body;
        var jwks = (await GetAsync(_server.JwksUrl(KeyFiles.Email))).Body;

        using var document = JsonDocument.Parse(x509);
        Assert.Equal(new[] { first.PrivateKeyId, second.PrivateKeyId }.Order(), document.RootElement.EnumerateObject().Select(p => p.Name).Order());
        foreach (var key in new[] { first, second })
        {
            var token = TokenSigner.Sign(key, KeyFiles.Email, [Service]);
            ProxyView.AssertVerifies(x509, token);
            ProxyView.AssertVerifies(jwks, token);
        }
    }

    [Fact]
    public async Task Serve_KeyFileRemoved_NoLongerPublished()
    {
        using var key = _files.Create("client.json");
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(_server.X509Url(KeyFiles.Email))).Status);

        File.Delete(_files.PathOf("client.json"));

        Assert.Equal(HttpStatusCode.NotFound, (await GetAsync(_server.X509Url(KeyFiles.Email))).Status);
        Assert.Contains($"Information: No longer publishing {KeyFiles.Email} key {key.PrivateKeyId} ({_files.PathOf("client.json")} was removed or replaced)", _log.Lines);
    }

    [Fact]
    public async Task Serve_FilesThatAreNotKeys_IgnoredWithOneWarningEach()
    {
        _files.Create("client.json").Dispose();
        _files.Write("README.txt", "not a key");
        _files.Write("user.json", """{"type": "authorized_user", "client_id": "x", "client_secret": "y", "refresh_token": "z"}""");
        _files.Write(".client.json.swp", "editor junk");
        Directory.CreateDirectory(_files.PathOf("nested"));

        Assert.Equal(HttpStatusCode.OK, (await GetAsync(_server.JwksUrl(KeyFiles.Email))).Status);
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(_server.JwksUrl(KeyFiles.Email))).Status);

        var warnings = _log.Lines.Where(l => l.StartsWith("Warning: ", StringComparison.Ordinal)).Order().ToList();
        Assert.Equal(
            [
                $"Warning: Ignoring {_files.PathOf("README.txt")}: not a service account key file: not JSON",
                $"Warning: Ignoring {_files.PathOf("user.json")}: not a service account key file: \"type\" is not \"service_account\"",
            ],
            warnings);
    }

    [Fact]
    public async Task Serve_KeyFileReplaced_NewKeyPublishedOldOneGone()
    {
        using var old = _files.Create("client.json");
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(_server.JwksUrl(KeyFiles.Email))).Status);

        using var replacement = ServiceAccountKey.Create(KeyFiles.Email);
        Assert.Null(replacement.Save(_files.PathOf("client.json"), overwrite: true));
        var jwks = (await GetAsync(_server.JwksUrl(KeyFiles.Email))).Body;

        ProxyView.AssertVerifies(jwks, TokenSigner.Sign(replacement, KeyFiles.Email, [Service]));
        var keys = KeySetParser.Parse(jwks, out _, out _)!;
        Assert.Equal([replacement.PrivateKeyId], keys.Keys.Select(k => k.KeyId));
    }

    [Fact]
    public async Task Serve_DirectoryEmptyAtStart_KeysListsNothingThenTheNewKey()
    {
        Assert.Empty(_server.Keys);

        using var key = _files.Create("client.json");

        var published = Assert.Single(_server.Keys);
        Assert.Equal((KeyFiles.Email, key.PrivateKeyId), (published.Email, published.KeyId));
    }

    private static async Task<(HttpStatusCode Status, byte[] Body)> GetAsync(Uri url)
    {
        using var response = await Http.GetAsync(url).DefaultTimeout();
        return (response.StatusCode, await response.Content.ReadAsByteArrayAsync().DefaultTimeout());
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _files.Dispose();
    }
}
