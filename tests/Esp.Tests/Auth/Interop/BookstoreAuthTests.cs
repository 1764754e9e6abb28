using Bookstore.Client;
using Esp.Grpc;
using Esp.Grpc.Client;
using Esp.Tests.Bookstore;
using Esp.Tests.Functional;
using Esp.Tests.Infrastructure;
using Xunit;
using Esp.Auth.ServiceAccounts;

namespace Esp.Tests.Auth.Interop;

/// <summary>
/// The seeds' "Authentication between services" walkthrough on loopback: a consumer service
/// account key (Google's JSON key file), the sample's api_config_auth.yaml with the account as
/// issuer and its X.509 certificate map as jwks_uri (served the way Google publishes it), a token
/// made by jwt_token_gen.py's code with audience = the service name, and the sample's
/// bookstore_client.py calling ListShelves with <c>--auth_token</c>.
/// </summary>
public sealed class BookstoreAuthFixture : IAsyncLifetime
{
    public const string ProducerProject = "producer-project";
    public const string ServiceName = $"bookstore.endpoints.{ProducerProject}.cloud.goog";
    public const string CallerEmail = "bookstore-caller@consumer-project.iam.gserviceaccount.com";
    public const string OtherEmail = "someone-else@consumer-project.iam.gserviceaccount.com";

    private readonly BookstoreServerFixture _bookstore = new();
    private readonly Dictionary<string, string> _tokens = new(StringComparer.Ordinal);
    private string _directory = null!;
    private KeyServer? _keys;
    private TestProxy? _proxy;

    internal TestProxy Proxy => _proxy!;

    internal KeyServer Keys => _keys!;

    public string Token(string name) => _tokens[name];

    /// <summary>samples/Bookstore/api_config_auth.yaml with its placeholders filled in, as the walkthrough says.</summary>
    internal static string Config(KeyServer keys)
    {
        var sample = File.ReadAllText(Path.Combine(RepositoryPaths.Samples, "Bookstore", "api_config_auth.yaml"));
        var config = sample
            .Replace("MY_PROJECT_ID", ProducerProject, StringComparison.Ordinal)
            .Replace("https://www.googleapis.com/robot/v1/metadata/x509/SERVICE-ACCOUNT-ID", keys.X509Uri(CallerEmail), StringComparison.Ordinal)
            .Replace("SERVICE-ACCOUNT-ID", CallerEmail, StringComparison.Ordinal);
        if (config == sample || config.Contains("googleapis.com/robot", StringComparison.Ordinal))
            throw new InvalidOperationException("api_config_auth.yaml no longer has the placeholders this test fills in.");
        return config;
    }

    public async Task InitializeAsync()
    {
        _directory = Directory.CreateTempSubdirectory("esp-bookstore-auth-").FullName;
        var keys = Path.Combine(_directory, "keys");
        _keys = await KeyServer.StartAsync(keys);
        var callerKey = Path.Combine(_directory, "caller.json");
        var otherKey = Path.Combine(_directory, "other.json");
        await Task.WhenAll(
            TokenTool.ServiceAccountKeyAsync(CallerEmail, callerKey, Path.Combine(keys, CallerEmail)),
            TokenTool.ServiceAccountKeyAsync(OtherEmail, otherKey, Path.Combine(keys, OtherEmail)),
            _bookstore.InitializeAsync()).DefaultTimeout();

        var made = new (string Name, Task<string> Token)[]
        {
            (TokenNames.GoogleAuth, TokenTool.GoogleAuthAsync(callerKey, CallerEmail, ServiceName)),
            (TokenNames.GoogleAuthPadded, TokenTool.GoogleAuthAsync(callerKey, CallerEmail, ServiceName, unpadded: false)),
            (TokenNames.OtherServiceAccount, TokenTool.GoogleAuthAsync(otherKey, OtherEmail, ServiceName)),
            (TokenNames.WrongAudience, TokenTool.GoogleAuthAsync(callerKey, CallerEmail, "bookstore.endpoints.other-project.cloud.goog")),
        };
        await Task.WhenAll(made.Select(m => m.Token)).DefaultTimeout();
        foreach (var (name, token) in made)
            _tokens[name] = token.Result;

        _proxy = await TestProxy.StartAsync(Config(_keys), ProtocDescriptors.Bookstore, $"grpc://127.0.0.1:{_bookstore.Port}");
    }

    public async Task DisposeAsync()
    {
        if (_proxy is not null)
            await _proxy.DisposeAsync();
        await _bookstore.DisposeAsync();
        if (_keys is not null)
            await _keys.DisposeAsync();
        if (_directory is not null)
            Directory.Delete(_directory, recursive: true);
    }
}

public sealed class BookstoreAuthTests(BookstoreAuthFixture fixture) : IClassFixture<BookstoreAuthFixture>
{
    [Fact]
    public async Task SampleClient_SeedsToken_ListsShelves()
    {
        var (exitCode, output) = await RunClientAsync(fixture.Token(TokenNames.GoogleAuth));

        Assert.True(exitCode == 0, output);
        Assert.StartsWith("ListShelves: ", output, StringComparison.Ordinal);
        Assert.Contains("Fiction", output, StringComparison.Ordinal);
        Assert.True(fixture.Keys.Hits("/x509/" + BookstoreAuthFixture.CallerEmail) >= 1, "the keys come from the account's X.509 certificate map");
    }

    /// <summary>"You can double check it by not providing a token, or by specifying the wrong service account ID when generating the JWT. The command should fail."</summary>
    [Theory]
    [InlineData(null, "ERROR: UNAUTHENTICATED: JWT validation failed: Jwt is missing")]
    [InlineData(TokenNames.OtherServiceAccount, "ERROR: UNAUTHENTICATED: JWT validation failed: Jwt issuer is not configured")]
    [InlineData(TokenNames.WrongAudience, "ERROR: PERMISSION_DENIED: JWT validation failed: Audiences in Jwt are not allowed")]
    public async Task SampleClient_NoOrWrongToken_FailsWithReason(string? tokenName, string expected)
    {
        var (exitCode, output) = await RunClientAsync(tokenName is null ? null : fixture.Token(tokenName));

        Assert.Equal(1, exitCode);
        Assert.Equal(expected, output.Trim());
    }

    /// <summary>
    /// The walkthrough on Debian's google-auth 1.5.1 as it is: padded segments, refused (see
    /// <see cref="PeerAuthTests.GoogleAuthAsInstalled_PaddedSegments_RefusedAsNotBase64url"/>).
    /// </summary>
    [Fact]
    public async Task SampleClient_TokenFromGoogleAuth151AsInstalled_RefusedAsNotBase64url()
    {
        var (exitCode, output) = await RunClientAsync(fixture.Token(TokenNames.GoogleAuthPadded));

        Assert.Equal(1, exitCode);
        Assert.Matches(@"^ERROR: UNAUTHENTICATED: JWT validation failed: Jwt (header|payload|signature) is an invalid Base64url encoded$", output.Trim());
    }

    [Fact]
    public async Task OurClient_SeedsToken_ListsShelves()
    {
        using var channel = GrpcChannel.ForAddress(fixture.Proxy.Address);
        var client = new BookstoreClient(channel, () => new CallOptions
        {
            Timeout = TimeSpan.FromSeconds(10),
            Headers = AuthCalls.Headers(fixture.Token(TokenNames.GoogleAuth)),
        });

        var shelves = (await client.ListShelvesAsync().DefaultTimeout()).Shelves;

        Assert.Contains(shelves, s => s.Theme == "Fiction");
    }

    [Fact]
    public async Task OurClient_OtherServiceAccount_Unauthenticated()
    {
        using var channel = GrpcChannel.ForAddress(fixture.Proxy.Address);
        var client = new BookstoreClient(channel, () => new CallOptions
        {
            Timeout = TimeSpan.FromSeconds(10),
            Headers = AuthCalls.Headers(fixture.Token(TokenNames.OtherServiceAccount)),
        });

        var error = await Assert.ThrowsAsync<RpcException>(() => client.ListShelvesAsync()).DefaultTimeout();

        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
        Assert.Equal("JWT validation failed: Jwt issuer is not configured", error.Status.Detail);
    }

    private Task<(int ExitCode, string Output)> RunClientAsync(string? token)
    {
        List<string> arguments = [Path.Combine(RepositoryPaths.Peers, "bookstore_client.py"), "--host", "127.0.0.1", "--port", fixture.Proxy.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)];
        if (token is not null)
            arguments.Add("--auth_token=" + token);
        return PeerProcess.RunAsync(RepositoryPaths.Python, arguments);
    }
}
