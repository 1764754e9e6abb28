using System.Text.Json;
using Esp.Tests.Infrastructure;
using Esp.Tools;
using Xunit;
using Esp.Auth.ServiceAccounts;

namespace Esp.Tests.Tools;

/// <summary>
/// Our key files, tokens and published keys against Google's and PyJWT's own code (tests/peers/service_accounts.py
/// on Debian's Python): what the walkthrough's clients and Google's libraries would do with them.
/// </summary>
public sealed class ToolsInteropTests : IAsyncLifetime
{
    private const string Service = "bookstore.endpoints.producer-proj.cloud.goog";

    private readonly KeyFiles _files = new();
    private KeyServer _server = null!;

    public async Task InitializeAsync() => _server = await TestKeyServer.StartAsync(_files.Directory, new CapturedLog());

    [Fact]
    public async Task KeysCreate_KeyFile_LoadsInGoogleAuthWhoseTokensVerifyAgainstOurDocuments()
    {
        var path = _files.PathOf("client.json");
        var (exitCode, _, errors) = await ToolCommands.RunAsync(KeysCommand.Create(), "keys", "create", "--email", KeyFiles.Email, "--out", path);
        Assert.True(exitCode == 0, errors);
        using var key = ServiceAccountKey.Load(path, out _)!;

        var loaded = await ServiceAccountsPeer.RunAsync("load-key", path);

        Assert.Equal(KeyFiles.Email, loaded.GetProperty("email").GetString());
        Assert.Equal(KeyFiles.Email, loaded.GetProperty("signer_email").GetString());
        Assert.Equal("consumer-proj", loaded.GetProperty("project_id").GetString());
        Assert.Equal(key.PrivateKeyId, loaded.GetProperty("key_id").GetString());
        // google-auth signed with our key file: the documents we publish for it verify that token in the proxy.
        var googleToken = loaded.GetProperty("token").GetString()!;
        ProxyView.AssertVerifies(await GetAsync(_server.X509Url(KeyFiles.Email)), googleToken);
        ProxyView.AssertVerifies(await GetAsync(_server.JwksUrl(KeyFiles.Email)), googleToken);
    }

    [Fact]
    public async Task Token_VerifiesWithPyJwtAgainstTheServedJwks()
    {
        var token = await TokenAsync("--audiences", Service);

        var verified = await ServiceAccountsPeer.RunAsync("verify-pyjwt", "--jwks-url", _server.JwksUrl(KeyFiles.Email).AbsoluteUri,
            "--token", token, "--issuer", KeyFiles.Email, "--audience", Service);

        Assert.Equal("RS256", verified.GetProperty("header").GetProperty("alg").GetString());
        var payload = verified.GetProperty("payload");
        Assert.Equal(Service, payload.GetProperty("aud").GetString());
        Assert.Equal(KeyFiles.Email, payload.GetProperty("sub").GetString());
        Assert.Equal("user@example.com", payload.GetProperty("email").GetString());
    }

    [Fact]
    public async Task Token_VerifiesWithGoogleAuthAgainstTheServedX509Map()
    {
        var token = await TokenAsync("--audiences", Service);

        var payload = await ServiceAccountsPeer.RunAsync("verify-google-auth", "--certs-url", _server.X509Url(KeyFiles.Email).AbsoluteUri,
            "--token", token, "--audience", Service);

        Assert.Equal(KeyFiles.Email, payload.GetProperty("iss").GetString());
        Assert.Equal(payload.GetProperty("iat").GetInt64() + 3600, payload.GetProperty("exp").GetInt64());
    }

    [Fact]
    public async Task Token_AudienceList_PyJwtAcceptsEachAudience()
    {
        var token = await TokenAsync("--audiences", $"{Service},second.example.com");

        var verified = await ServiceAccountsPeer.RunAsync("verify-pyjwt", "--jwks-url", _server.JwksUrl(KeyFiles.Email).AbsoluteUri,
            "--token", token, "--issuer", KeyFiles.Email, "--audience", "second.example.com");

        Assert.Equal(JsonValueKind.Array, verified.GetProperty("payload").GetProperty("aud").ValueKind);
    }

    [Fact]
    public async Task Token_OtherAccountsKeys_RejectedByGoogleAuth()
    {
        const string Other = "someone-else@consumer-proj.iam.gserviceaccount.com";
        _files.Create("other.json", Other).Dispose();
        var token = await TokenAsync("--audiences", Service);

        var error = await ServiceAccountsPeer.FailAsync("verify-google-auth", "--certs-url", _server.X509Url(Other).AbsoluteUri,
            "--token", token, "--audience", Service);

        Assert.Contains("Certificate for key id", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Token_KeyFileGoogleIssued_SignsTokensThatVerifyAgainstWhatWePublishForIt()
    {
        const string Email = "issued-by-google@consumer-proj.iam.gserviceaccount.com";
        var path = _files.PathOf("google.json");
        var issued = await ServiceAccountsPeer.RunAsync("google-key", "--email", Email, "--out", path);

        var (exitCode, output, errors) = await ToolCommands.RunAsync(TokenCommand.Create(), "token", "--file", path, "--issuer", Email, "--audiences", Service);

        Assert.True(exitCode == 0, errors);
        var token = output.Trim();
        Assert.Equal(issued.GetProperty("key_id").GetString(), ProxyView.Header(token).GetProperty("kid").GetString());
        var verified = await ServiceAccountsPeer.RunAsync("verify-pyjwt", "--jwks-url", _server.JwksUrl(Email).AbsoluteUri,
            "--token", token, "--issuer", Email, "--audience", Service);
        Assert.Equal(Email, verified.GetProperty("payload").GetProperty("iss").GetString());
        await ServiceAccountsPeer.RunAsync("verify-google-auth", "--certs-url", _server.X509Url(Email).AbsoluteUri, "--token", token, "--audience", Service);
    }

    /// <summary>A token from <c>esp token</c> with a new key of <see cref="KeyFiles.Email"/> in the served directory.</summary>
    private async Task<string> TokenAsync(params string[] args)
    {
        var path = _files.PathOf("client.json");
        if (!File.Exists(path))
            _files.Create("client.json").Dispose();
        var (exitCode, output, errors) = await ToolCommands.RunAsync(TokenCommand.Create(), ["token", "--file", path, "--issuer", KeyFiles.Email, .. args]);
        Assert.True(exitCode == 0, errors);
        return output.Trim();
    }

    private static async Task<byte[]> GetAsync(Uri url)
    {
        using var http = new HttpClient();
        return await http.GetByteArrayAsync(url).DefaultTimeout();
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _files.Dispose();
    }
}
