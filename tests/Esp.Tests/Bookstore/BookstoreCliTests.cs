using System.Globalization;
using Esp.Tests.Infrastructure;
using Xunit;

namespace Esp.Tests.Bookstore;

/// <summary>The <c>bookstore</c> program as a person runs it: server and client as processes, cleartext and TLS.</summary>
public sealed class BookstoreCliTests : IDisposable
{
    private static readonly string Program = Path.Combine(AppContext.BaseDirectory, "bookstore.dll");
    private readonly string _directory = Directory.CreateTempSubdirectory("esp-bookstore-").FullName;

    [Fact]
    public async Task ServerAndClient_Cleartext_DefaultCallListsShelves()
    {
        await using var serverProcess = await PeerProcess.StartServerAsync("dotnet", Program, "server", "--port", "0", "--listen", "127.0.0.1");
        var port = serverProcess.Port.ToString(CultureInfo.InvariantCulture);

        var (exitCode, output) = await RunClientAsync("--host", "127.0.0.1", "--port", port);

        Assert.True(exitCode == 0, output);
        Assert.Contains("ListShelves: { \"shelves\": [ { \"id\": \"1\", \"theme\": \"Fiction\" }, { \"id\": \"2\", \"theme\": \"Fantasy\" } ] }", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Client_MissingBook_ExitCodeOneWithStatus()
    {
        await using var serverProcess = await PeerProcess.StartServerAsync("dotnet", Program, "server", "--port", "0", "--listen", "127.0.0.1");

        var (exitCode, output) = await RunClientAsync("--port", serverProcess.Port.ToString(CultureInfo.InvariantCulture),
            "--host", "127.0.0.1", "--call", "GetBook", "--shelf", "1", "--book", "42");

        Assert.Equal(1, exitCode);
        Assert.Contains("GetBook failed: NotFound: Unable to find the item keyed by 42", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task QuietServer_ClientCalls_CountedAtStats()
    {
        await using var serverProcess = await PeerProcess.StartServerAsync("dotnet", Program, "server", "--port", "0", "--listen", "127.0.0.1", "--quiet");
        var port = serverProcess.Port.ToString(CultureInfo.InvariantCulture);

        var listed = await RunClientAsync("--host", "127.0.0.1", "--port", port);
        var missing = await RunClientAsync("--host", "127.0.0.1", "--port", port, "--call", "GetBook", "--shelf", "1", "--book", "42");
        var (_, stats) = await BookstoreQuietTests.GetStatsAsync(serverProcess.Port);

        Assert.True(listed.ExitCode == 0, listed.Output);
        Assert.Equal(1, missing.ExitCode);
        Assert.Equal("""{"calls":2,"status":{"0":1,"5":1}}""", stats);
    }

    [Fact]
    public async Task ServerAndClient_TlsWithTestCa_ServerNameOverride()
    {
        using var certificates = TestCertificates.Create("bookstore.test");
        var (caPath, certPath, keyPath) = certificates.WritePem(_directory);
        await using var serverProcess = await PeerProcess.StartServerAsync("dotnet", Program, "server", "--port", "0",
            "--listen", "127.0.0.1", "--tls_cert", certPath, "--tls_key", keyPath);
        var port = serverProcess.Port.ToString(CultureInfo.InvariantCulture);

        var trusted = await RunClientAsync("--host", "127.0.0.1", "--port", port, "--use_tls", "--ca_path", caPath, "--servername_override", "bookstore.test");
        var untrusted = await RunClientAsync("--host", "127.0.0.1", "--port", port, "--use_tls", "--servername_override", "bookstore.test");
        var wrongName = await RunClientAsync("--host", "127.0.0.1", "--port", port, "--use_tls", "--ca_path", caPath, "--servername_override", "other.test");
        var python = await PeerProcess.RunAsync(RepositoryPaths.Python, [Path.Combine(RepositoryPaths.Peers, "bookstore_client.py"),
            "--host", "127.0.0.1", "--port", port, "--use_tls", "yes", "--ca_path", caPath, "--servername", "bookstore.test"]);

        Assert.True(trusted.ExitCode == 0, trusted.Output);
        Assert.Contains("Fiction", trusted.Output, StringComparison.Ordinal);
        Assert.Equal(1, untrusted.ExitCode);
        Assert.Contains("ListShelves failed: Unavailable", untrusted.Output, StringComparison.Ordinal);
        Assert.Equal(1, wrongName.ExitCode);
        Assert.True(python.ExitCode == 0, python.Output);
    }

    private static Task<(int ExitCode, string Output)> RunClientAsync(params string[] arguments) =>
        PeerProcess.RunAsync("dotnet", [Program, "client", .. arguments]);

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
