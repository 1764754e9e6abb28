using System.Security.Cryptography;
using System.Text.Json;
using Esp.Tools;
using Xunit;

namespace Esp.Tests.Tools;

/// <summary><c>esp token</c>: the tokens of the walkthrough's jwt_token_gen.py, and its errors.</summary>
public sealed class TokenCommandTests : IDisposable
{
    private const string Service = "bookstore.endpoints.producer-proj.cloud.goog";

    private readonly KeyFiles _files = new();

    [Fact]
    public async Task Token_SeedsArguments_HeaderAndClaimsAsJwtTokenGen()
    {
        using var key = _files.Create("client.json");
        var before = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

        var (exitCode, output, errors) = await TokenAsync("--file", _files.PathOf("client.json"), "--issuer", KeyFiles.Email, "--audiences", Service);

        var after = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        Assert.True(exitCode == 0, errors);
        Assert.Equal("", errors);
        // The token alone, so TOKEN=$(esp token ...) works.
        Assert.Matches(@"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\n$", output);
        var token = output.TrimEnd('\n');
        Assert.Equal($$"""{"alg":"RS256","typ":"JWT","kid":"{{key.PrivateKeyId}}"}""", ProxyView.RawSegment(token, 0));
        var payload = ProxyView.Payload(token);
        Assert.Equal(["iat", "exp", "aud", "iss", "sub", "email"], payload.EnumerateObject().Select(p => p.Name));
        var iat = payload.GetProperty("iat").GetInt64();
        Assert.InRange(iat, before, after);
        Assert.Equal(iat + 3600, payload.GetProperty("exp").GetInt64());
        Assert.Equal(Service, payload.GetProperty("aud").GetString());
        Assert.Equal(KeyFiles.Email, payload.GetProperty("iss").GetString());
        Assert.Equal(KeyFiles.Email, payload.GetProperty("sub").GetString());
        Assert.Equal("user@example.com", payload.GetProperty("email").GetString());
        ProxyView.AssertVerifies(PublicKeyDocuments.Jwks([PublishedKey.From(key, DateTimeOffset.UtcNow)]), token);
    }

    [Fact]
    public async Task Token_CommaSeparatedAudiences_AudIsAList()
    {
        _files.Create("client.json").Dispose();

        var (_, output, _) = await TokenAsync("--file", _files.PathOf("client.json"), "--issuer", KeyFiles.Email, "--audiences", $"{Service}, other.example.com,");

        var aud = ProxyView.Payload(output.Trim()).GetProperty("aud");
        Assert.Equal(JsonValueKind.Array, aud.ValueKind);
        Assert.Equal([Service, "other.example.com"], aud.EnumerateArray().Select(a => a.GetString()));
    }

    [Fact]
    public async Task Token_LifetimeAndEmail_InTheClaims()
    {
        _files.Create("client.json").Dispose();

        var (_, output, _) = await TokenAsync("--file", _files.PathOf("client.json"), "--issuer", "caller", "--audiences", Service,
            "--lifetime=600", "--email=alice@example.com");

        var payload = ProxyView.Payload(output.Trim());
        Assert.Equal(payload.GetProperty("iat").GetInt64() + 600, payload.GetProperty("exp").GetInt64());
        Assert.Equal("alice@example.com", payload.GetProperty("email").GetString());
        Assert.Equal("caller", payload.GetProperty("sub").GetString());
    }

    [Fact]
    public async Task Token_NoIssuer_IssuerIsTheKeysClientEmail()
    {
        _files.Create("client.json").Dispose();

        var (_, output, _) = await TokenAsync("--file", _files.PathOf("client.json"), "--audiences", Service);

        Assert.Equal(KeyFiles.Email, ProxyView.Payload(output.Trim()).GetProperty("iss").GetString());
    }

    [Fact]
    public async Task Token_Pkcs1KeyInAForeignFile_SignsWithIt()
    {
        using var rsa = RSA.Create(2048);
        var path = _files.Write("legacy.json", JsonSerializer.Serialize(new Dictionary<string, string>
        {
            ["type"] = "service_account",
            ["private_key_id"] = "legacy-key",
            ["private_key"] = rsa.ExportRSAPrivateKeyPem(),
            ["client_email"] = "robot@legacy-project.iam.gserviceaccount.com",
        }));

        var (exitCode, output, errors) = await TokenAsync("--file", path, "--audiences", Service);

        Assert.True(exitCode == 0, errors);
        Assert.Equal("legacy-key", ProxyView.Header(output.Trim()).GetProperty("kid").GetString());
        var token = output.Trim();
        var signingInput = System.Text.Encoding.ASCII.GetBytes(token[..token.LastIndexOf('.')]);
        Assert.True(Esp.Auth.Jwt.Base64Url.TryDecode(token.AsSpan(token.LastIndexOf('.') + 1), out var signature));
        Assert.True(rsa.VerifyData(signingInput, signature, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1));
    }

    [Fact]
    public async Task Token_MissingFile_ExitCode2NamesIt()
    {
        var path = _files.PathOf("nope.json");

        var (exitCode, output, errors) = await TokenAsync("--file", path, "--audiences", Service);

        Assert.Equal(2, exitCode);
        Assert.Equal("", output);
        Assert.Equal($"esp token: {path}: no such file\n", errors);
    }

    [Theory]
    [InlineData("not json", "not a service account key file: not JSON")]
    [InlineData("[]", "not a service account key file: not a JSON object")]
    [InlineData("""{"type": "authorized_user", "client_id": "x"}""", "not a service account key file: \"type\" is not \"service_account\"")]
    [InlineData("""{"type": "service_account", "private_key_id": "k", "client_email": "a@b"}""", "not a service account key file: no \"private_key\"")]
    [InlineData("""{"type": "service_account", "private_key": "x", "client_email": "a@b"}""", "not a service account key file: no \"private_key_id\"")]
    [InlineData("""{"type": "service_account", "private_key_id": "k", "private_key": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "client_email": "a@b"}""",
        "\"private_key\" is not an unencrypted RSA private key in PEM")]
    public async Task Token_InvalidKeyFile_ExitCode2SaysWhat(string content, string why)
    {
        var path = _files.Write("bad.json", content);

        var (exitCode, output, errors) = await TokenAsync("--file", path, "--audiences", Service);

        Assert.Equal(2, exitCode);
        Assert.Equal("", output);
        Assert.Equal($"esp token: {path}: {why}\n", errors);
    }

    [Fact]
    public async Task Token_WeakKey_ExitCode2BecauseTheProxyWouldRefuseIt()
    {
        using var rsa = RSA.Create(1024);
        var path = _files.Write("weak.json", JsonSerializer.Serialize(new Dictionary<string, string>
        {
            ["type"] = "service_account",
            ["private_key_id"] = "weak",
            ["private_key"] = rsa.ExportPkcs8PrivateKeyPem(),
            ["client_email"] = KeyFiles.Email,
        }));

        var (exitCode, _, errors) = await TokenAsync("--file", path, "--audiences", Service);

        Assert.Equal(2, exitCode);
        Assert.Contains("an RSA key of 1024 bits; at least 2048 are needed", errors, StringComparison.Ordinal);
        Assert.DoesNotContain("PRIVATE", errors, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Token_NoFileNoAudience_ExitCode2ListsBoth()
    {
        var (exitCode, _, errors) = await TokenAsync("--audiences", " , ");

        Assert.Equal(2, exitCode);
        Assert.Equal(
            "esp token: give the service account key file: --file KEY.json\n" +
            "esp token: give the audience: --audiences SERVICE_NAME (several: comma-separated)\n",
            errors);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-5")]
    public async Task Token_NonPositiveLifetime_ExitCode2(string lifetime)
    {
        _files.Create("client.json").Dispose();

        var (exitCode, _, errors) = await TokenAsync("--file", _files.PathOf("client.json"), "--audiences", Service, "--lifetime", lifetime);

        Assert.Equal(2, exitCode);
        Assert.Equal($"esp token: --lifetime: {lifetime} is not a positive number of seconds\n", errors);
    }

    private static Task<(int ExitCode, string Output, string Errors)> TokenAsync(params string[] args) =>
        ToolCommands.RunAsync(TokenCommand.Create(), ["token", .. args]);

    public void Dispose() => _files.Dispose();
}
