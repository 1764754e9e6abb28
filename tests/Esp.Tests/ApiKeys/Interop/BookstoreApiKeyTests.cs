using System.Globalization;
using Esp.Tests.Bookstore;
using Esp.Tests.Infrastructure;
using Esp.Tests.Tools;
using Xunit;

namespace Esp.Tests.ApiKeys.Interop;

/// <summary>
/// The seeds' Bookstore with the sample's api_config.yaml (every method but ListShelves needs an API
/// key) behind <c>esp run</c> as a process, its key store made by <c>esp apikeys create</c> as an
/// operator would: one key for a consumer that keeps it, one for a consumer whose key a test revokes
/// while the proxy runs.
/// </summary>
public sealed class BookstoreApiKeyFixture : IAsyncLifetime
{
    public const string Reader = "bookstore-reader";
    public const string Retired = "bookstore-retired";

    private readonly BookstoreServerFixture _bookstore = new();
    private readonly string _directory = Directory.CreateTempSubdirectory("esp-bookstore-apikeys-").FullName;
    private PeerProcess? _proxy;

    public string StorePath => Path.Combine(_directory, "keys.yaml");

    /// <summary>The key <c>esp apikeys create</c> printed for <see cref="Reader"/>.</summary>
    public string ReaderKey { get; private set; } = "";

    /// <summary>The key <c>esp apikeys create</c> printed for <see cref="Retired"/>.</summary>
    public string RetiredKey { get; private set; } = "";

    internal PeerProcess Proxy => _proxy!;

    public async Task InitializeAsync()
    {
        var sample = await File.ReadAllTextAsync(Path.Combine(RepositoryPaths.Samples, "Bookstore", "api_config.yaml")).DefaultTimeout();
        var config = Path.Combine(_directory, "api_config.yaml");
        await File.WriteAllTextAsync(config, sample.Replace("MY_PROJECT_ID", "apikey-project", StringComparison.Ordinal)).DefaultTimeout();

        // Both at once, as two operators might: the store's lock makes the second wait for the first.
        var reader = CreateKeyAsync(Reader);
        var retired = CreateKeyAsync(Retired);
        await Task.WhenAll(reader, retired, _bookstore.InitializeAsync()).DefaultTimeout();
        (ReaderKey, RetiredKey) = (reader.Result, retired.Result);

        _proxy = await PeerProcess.StartServerAsync("dotnet", ToolCommands.Esp, "run", $"--service_config={config}", $"--descriptor={ProtocDescriptors.Bookstore}",
            $"--backend=grpc://127.0.0.1:{_bookstore.Port.ToString(CultureInfo.InvariantCulture)}", "--http2_port=0",
            "--listener_address=127.0.0.1", $"--api_keys={StorePath}").DefaultTimeout();
    }

    private async Task<string> CreateKeyAsync(string consumer)
    {
        var (exitCode, output) = await PeerProcess.RunAsync("dotnet", [ToolCommands.Esp, "apikeys", "create", "--store", StorePath, "--consumer", consumer]).DefaultTimeout();
        if (exitCode != 0)
            throw new InvalidOperationException($"esp apikeys create --consumer {consumer} failed ({exitCode}):\n{output}");
        // The key is the last line printed.
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[^1];
    }

    public async Task DisposeAsync()
    {
        if (_proxy is not null)
            await _proxy.DisposeAsync();
        await _bookstore.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }
}

/// <summary>Python grpcio callers (the sample's bookstore_client.py, and tests/peers/bookstore_call.py for the other methods) through <c>esp run</c>.</summary>
public sealed class BookstoreApiKeyTests(BookstoreApiKeyFixture fixture) : IClassFixture<BookstoreApiKeyFixture>
{
    private const string Shelf1 = """GetShelf: {"id": "1", "theme": "Fiction"}""";

    [Fact]
    public async Task SampleClient_ListShelvesWithoutKey_Ok()
    {
        var (exitCode, output) = await SampleClientAsync(apiKey: null).DefaultTimeout();

        Assert.True(exitCode == 0, output);
        Assert.StartsWith("ListShelves: ", output, StringComparison.Ordinal);
        Assert.Contains("Fiction", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetShelf_CreatedKeyInHeader_Ok()
    {
        var (exitCode, output) = await GetShelfAsync("--api_key", fixture.ReaderKey).DefaultTimeout();

        Assert.True(exitCode == 0, output);
        Assert.Equal(Shelf1, output.Trim());
    }

    [Fact]
    public async Task GetShelf_CreatedKeyInQuery_Ok()
    {
        var (exitCode, output) = await GetShelfAsync("--query", "key=" + fixture.ReaderKey).DefaultTimeout();

        Assert.True(exitCode == 0, output);
        Assert.Equal(Shelf1, output.Trim());
    }

    [Fact]
    public async Task GetShelf_NoKey_Unauthenticated()
    {
        var (exitCode, output) = await GetShelfAsync().DefaultTimeout();

        Assert.Equal(1, exitCode);
        Assert.Equal("ERROR: UNAUTHENTICATED: Method doesn't allow unregistered callers (callers without established identity). " +
            "Please use API Key or other form of API consumer identity to call this API.", output.Trim());
    }

    /// <summary>
    /// <c>esp apikeys revoke</c> while the proxy runs: once the proxy logs that it reloaded the store,
    /// the key is refused, the other consumer's key still works, and ListShelves (open) does not read keys.
    /// </summary>
    [Fact]
    public async Task GetShelf_KeyRevokedWhileProxyRuns_InvalidArgumentOnceReloaded()
    {
        var before = await GetShelfAsync("--api_key", fixture.RetiredKey).DefaultTimeout();
        Assert.True(before.ExitCode == 0, before.Output);

        var reloaded = fixture.Proxy.WaitForLineAsync(line => line.Contains($"API key store {fixture.StorePath} reloaded", StringComparison.Ordinal));
        var (revokeExit, revokeOutput) = await PeerProcess.RunAsync("dotnet",
            [ToolCommands.Esp, "apikeys", "revoke", "--store", fixture.StorePath, "--consumer", BookstoreApiKeyFixture.Retired]).DefaultTimeout();
        Assert.True(revokeExit == 0, revokeOutput);
        Assert.StartsWith($"revoked 1 key of consumer {BookstoreApiKeyFixture.Retired}: ", revokeOutput, StringComparison.Ordinal);
        await reloaded.DefaultTimeout();

        var after = await GetShelfAsync("--api_key", fixture.RetiredKey).DefaultTimeout();
        var other = await GetShelfAsync("--api_key", fixture.ReaderKey).DefaultTimeout();
        var open = await SampleClientAsync(fixture.RetiredKey).DefaultTimeout();

        Assert.Equal(1, after.ExitCode);
        Assert.Equal("ERROR: INVALID_ARGUMENT: API key not valid. Please pass a valid API key.", after.Output.Trim());
        Assert.True(other.ExitCode == 0, other.Output);
        Assert.True(open.ExitCode == 0, open.Output);
        Assert.StartsWith("ListShelves: ", open.Output, StringComparison.Ordinal);
        // The operator learns why (by the key's id, never the key itself).
        await fixture.Proxy.WaitForLineAsync(line => line.Contains($"of consumer {BookstoreApiKeyFixture.Retired} is revoked", StringComparison.Ordinal)).DefaultTimeout();
        Assert.DoesNotContain(fixture.RetiredKey, fixture.Proxy.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(fixture.ReaderKey, fixture.Proxy.Output, StringComparison.Ordinal);
    }

    private Task<(int ExitCode, string Output)> SampleClientAsync(string? apiKey)
    {
        List<string> arguments = [Path.Combine(RepositoryPaths.Peers, "bookstore_client.py"), "--host", "127.0.0.1", "--port", PortText];
        if (apiKey is not null)
            arguments.AddRange(["--api_key", apiKey]);
        return PeerProcess.RunAsync(RepositoryPaths.Python, arguments);
    }

    private Task<(int ExitCode, string Output)> GetShelfAsync(params string[] keyArguments) =>
        PeerProcess.RunAsync(RepositoryPaths.Python,
            [Path.Combine(RepositoryPaths.Peers, "bookstore_call.py"), "--port", PortText, "--method", "GetShelf", "--request", """{"shelf": 1}""", .. keyArguments]);

    private string PortText => fixture.Proxy.Port.ToString(CultureInfo.InvariantCulture);
}
