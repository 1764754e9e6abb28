using System.Runtime.Versioning;
using System.Security.Cryptography;
using System.Text.Json;
using Esp.Tools;
using Xunit;
using Esp.Auth.ServiceAccounts;

namespace Esp.Tests.Tools;

/// <summary><c>esp keys create</c>: the file Google's tools would write, and what a person sees.</summary>
public sealed class KeysCreateCommandTests : IDisposable
{
    private readonly KeyFiles _files = new();

    [Fact]
    public async Task Create_ValidEmail_WritesEveryFieldGoogleWritesInItsOrder()
    {
        var path = _files.PathOf("client.json");

        var (exitCode, output, errors) = await CreateAsync("--email", KeyFiles.Email, "--out", path);

        Assert.True(exitCode == 0, errors);
        using var document = JsonDocument.Parse(await File.ReadAllTextAsync(path));
        var root = document.RootElement;
        Assert.Equal(
            ["type", "project_id", "private_key_id", "private_key", "client_email", "client_id", "auth_uri", "token_uri",
                "auth_provider_x509_cert_url", "client_x509_cert_url", "universe_domain"],
            root.EnumerateObject().Select(p => p.Name));
        Assert.All(root.EnumerateObject(), p => Assert.Equal(JsonValueKind.String, p.Value.ValueKind));
        Assert.Equal("service_account", root.GetProperty("type").GetString());
        Assert.Equal("consumer-proj", root.GetProperty("project_id").GetString());
        Assert.Matches("^[0-9a-f]{40}$", root.GetProperty("private_key_id").GetString());
        Assert.Equal(KeyFiles.Email, root.GetProperty("client_email").GetString());
        Assert.Matches("^[0-9]{21}$", root.GetProperty("client_id").GetString());
        Assert.Equal("https://accounts.google.com/o/oauth2/auth", root.GetProperty("auth_uri").GetString());
        Assert.Equal("https://oauth2.googleapis.com/token", root.GetProperty("token_uri").GetString());
        Assert.Equal("https://www.googleapis.com/oauth2/v1/certs", root.GetProperty("auth_provider_x509_cert_url").GetString());
        Assert.Equal("https://www.googleapis.com/robot/v1/metadata/x509/bookstore-client%40consumer-proj.iam.gserviceaccount.com",
            root.GetProperty("client_x509_cert_url").GetString());
        Assert.Equal("googleapis.com", root.GetProperty("universe_domain").GetString());

        var pem = root.GetProperty("private_key").GetString()!;
        Assert.StartsWith("-----BEGIN PRIVATE KEY-----\n", pem, StringComparison.Ordinal);
        Assert.EndsWith("\n-----END PRIVATE KEY-----\n", pem, StringComparison.Ordinal);
        using var rsa = RSA.Create();
        rsa.ImportFromPem(pem);
        Assert.Equal(2048, rsa.KeySize);
        // As Google writes it: two-space indent, the PEM's newlines escaped, "+" and "/" as they are.
        var text = await File.ReadAllTextAsync(path);
        Assert.StartsWith("{\n  \"type\": \"service_account\",\n", text, StringComparison.Ordinal);
        Assert.Contains("-----BEGIN PRIVATE KEY-----\\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain("\\u002B", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Create_ValidEmail_PrintsPathEmailAndKeyIdButNeverTheKey()
    {
        var path = _files.PathOf("client.json");

        var (_, output, errors) = await CreateAsync("--email", KeyFiles.Email, "--out", path);

        using var key = ServiceAccountKey.Load(path, out var problem);
        Assert.True(key is not null, problem);
        Assert.Equal("", errors);
        Assert.Equal(
            $"wrote {path} (mode 0600: it holds the private key)\n" +
            $"service account: {KeyFiles.Email}\n" +
            $"key id:          {key.PrivateKeyId}\n",
            output);
    }

    [Fact]
    [UnsupportedOSPlatform("windows")]
    public async Task Create_NewFile_ModeIsOwnerReadWriteOnly()
    {
        var path = _files.PathOf("client.json");

        await CreateAsync("--email", KeyFiles.Email, "--out", path);

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        Assert.Equal([Path.GetFileName(path)], Directory.GetFiles(_files.Directory).Select(Path.GetFileName));
    }

    [Fact]
    public async Task Create_ExistingFile_RefusedWithExitCode2AndLeftAsItWas()
    {
        var path = _files.Write("client.json", "precious");

        var (exitCode, output, errors) = await CreateAsync("--email", KeyFiles.Email, "--out", path);

        Assert.Equal(2, exitCode);
        Assert.Equal("", output);
        Assert.Equal($"esp keys create: {path} already exists; give --force to replace it\n", errors);
        Assert.Equal("precious", await File.ReadAllTextAsync(path));
    }

    [Fact]
    [UnsupportedOSPlatform("windows")]
    public async Task Create_ExistingFileWithForce_ReplacedWithMode0600()
    {
        var path = _files.Write("client.json", "old");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

        var (exitCode, _, errors) = await CreateAsync("--email", KeyFiles.Email, "--out", path, "--force");

        Assert.True(exitCode == 0, errors);
        using var key = ServiceAccountKey.Load(path, out var problem);
        Assert.True(key is not null, problem);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
    }

    [Theory]
    [InlineData("someone@example.com", "is not a service account email: expected NAME@PROJECT.iam.gserviceaccount.com")]
    [InlineData("consumer-proj.iam.gserviceaccount.com", "is not a service account email")]
    [InlineData("client.one@consumer-proj.iam.gserviceaccount.com", "the account name 'client.one' must be 6-30 lowercase letters")]
    [InlineData("Client_1@consumer-proj.iam.gserviceaccount.com", "the account name 'Client_1' must be 6-30 lowercase letters")]
    [InlineData("abc@consumer-proj.iam.gserviceaccount.com", "the account name 'abc' must be 6-30")]
    [InlineData("client-@consumer-proj.iam.gserviceaccount.com", "not end with a hyphen")]
    [InlineData("bookstore-client@proj.iam.gserviceaccount.com", "the project id 'proj' must be 6-30")]
    [InlineData("bookstore-client@1consumer.iam.gserviceaccount.com", "the project id '1consumer' must be 6-30 lowercase letters, digits or hyphens, start with a letter")]
    public async Task Create_InvalidEmail_ExitCode2SaysWhyAndWritesNothing(string email, string why)
    {
        var path = _files.PathOf("client.json");

        var (exitCode, output, errors) = await CreateAsync("--email", email, "--out", path);

        Assert.Equal(2, exitCode);
        Assert.Equal("", output);
        Assert.StartsWith("esp keys create: --email: ", errors, StringComparison.Ordinal);
        Assert.Contains(why, errors, StringComparison.Ordinal);
        Assert.False(File.Exists(path));
    }

    [Fact]
    public async Task Create_NoEmail_ExitCode2AsksForIt()
    {
        var (exitCode, _, errors) = await CreateAsync("--out", _files.PathOf("client.json"));

        Assert.Equal(2, exitCode);
        Assert.Equal("esp keys create: --email: give the service account's email: NAME@PROJECT.iam.gserviceaccount.com\n", errors);
    }

    [Fact]
    public async Task Create_NoOut_ExitCode2AsksForIt()
    {
        var (exitCode, _, errors) = await CreateAsync("--email", KeyFiles.Email);

        Assert.Equal(2, exitCode);
        Assert.StartsWith("esp keys create: give the file to write: --out FILE", errors, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Create_DirectoryMissing_ExitCode2NamesIt()
    {
        var path = Path.Combine(_files.Directory, "no", "such", "client.json");

        var (exitCode, _, errors) = await CreateAsync("--email", KeyFiles.Email, "--out", path);

        Assert.Equal(2, exitCode);
        Assert.Equal($"esp keys create: {path}: the directory {Path.GetDirectoryName(path)} does not exist\n", errors);
    }

    [Fact]
    public async Task Create_TwoKeys_DifferentKeyIdsClientIdsAndKeys()
    {
        await CreateAsync("--email", KeyFiles.Email, "--out", _files.PathOf("a.json"));
        await CreateAsync("--email", KeyFiles.Email, "--out", _files.PathOf("b.json"));

        using var a = ServiceAccountKey.Load(_files.PathOf("a.json"), out _)!;
        using var b = ServiceAccountKey.Load(_files.PathOf("b.json"), out _)!;
        Assert.NotEqual(a.PrivateKeyId, b.PrivateKeyId);
        Assert.NotEqual(a.ClientId, b.ClientId);
        Assert.NotEqual(a.Rsa.ExportParameters(false).Modulus, b.Rsa.ExportParameters(false).Modulus);
    }

    private static Task<(int ExitCode, string Output, string Errors)> CreateAsync(params string[] args) =>
        ToolCommands.RunAsync(KeysCommand.Create(), ["keys", "create", .. args]);

    public void Dispose() => _files.Dispose();
}
