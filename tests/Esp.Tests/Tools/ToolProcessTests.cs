using System.Diagnostics;
using System.Globalization;
using System.Net;
using Esp.Tests.Infrastructure;
using Esp.Tools;
using Xunit;
using Esp.Auth.ServiceAccounts;

namespace Esp.Tests.Tools;

/// <summary><c>esp keys</c> and <c>esp token</c> as processes: what a shell sees (output lines, stdout alone, signals, exit codes).</summary>
public sealed class ToolProcessTests : IDisposable
{
    private readonly KeyFiles _files = new();

    [Fact]
    public async Task KeysServe_Process_PrintsListeningAndEachKeyThenServesAndExitsZeroOnSigterm()
    {
        using var key = _files.Create("client.json");
        await using var server = await PeerProcess.StartServerAsync("dotnet", ToolCommands.Esp, "keys", "serve", "--dir", _files.Directory, "--port", "0");
        var x509 = $"http://127.0.0.1:{server.Port.ToString(CultureInfo.InvariantCulture)}/robot/v1/metadata/x509/{KeyFiles.Email}";
        var jwks = $"http://127.0.0.1:{server.Port.ToString(CultureInfo.InvariantCulture)}/service_accounts/v1/jwk/{KeyFiles.Email}";

        using var http = new HttpClient();
        var body = await http.GetByteArrayAsync(jwks).DefaultTimeout();
        ProxyView.AssertVerifies(body, TokenSigner.Sign(key, KeyFiles.Email, ["aud"]));
        await server.SignalAsync("TERM");

        Assert.Equal(0, await server.WaitForExitAsync());
        var lines = server.Output.Split('\n', StringSplitOptions.TrimEntries);
        Assert.Contains($"listening on {server.Port.ToString(CultureInfo.InvariantCulture)}", lines);
        Assert.Contains($"published {KeyFiles.Email} key {key.PrivateKeyId}: {x509} {jwks}", lines);
        Assert.DoesNotContain("PRIVATE KEY", server.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task KeysServe_EmptyDirectory_SaysHowToAddKeys()
    {
        await using var server = await PeerProcess.StartServerAsync("dotnet", ToolCommands.Esp, "keys", "serve", $"--dir={_files.Directory}", "--port=0");
        await server.SignalAsync("INT");

        Assert.Equal(0, await server.WaitForExitAsync());
        Assert.Contains($"no key files in {_files.Directory} yet", server.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task KeysServe_BadArguments_ExitCode2ListsEveryProblem()
    {
        var missing = _files.PathOf("missing");

        var (exitCode, output) = await PeerProcess.RunAsync("dotnet", [ToolCommands.Esp, "keys", "serve", "--dir", missing, "--port", "70000", "--listen", "localhost"]);

        Assert.Equal(2, exitCode);
        Assert.Equal(
            $"esp keys serve: --dir: {missing} is not a directory\n" +
            "esp keys serve: --port: 70000 is not a port (0-65535)\n" +
            "esp keys serve: --listen: 'localhost' is not an IP address\n",
            output.ReplaceLineEndings("\n"));
    }

    [Fact]
    public async Task KeysServe_PortInUse_ExitCode1SaysSo()
    {
        using var taken = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port.ToString(CultureInfo.InvariantCulture);

        var (exitCode, output) = await PeerProcess.RunAsync("dotnet", [ToolCommands.Esp, "keys", "serve", "--dir", _files.Directory, "--port", port]);

        Assert.Equal(1, exitCode);
        Assert.StartsWith($"esp keys serve: cannot listen on 127.0.0.1:{port}: ", output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task KeysCreateThenToken_Processes_TokenAloneOnStdout()
    {
        var path = _files.PathOf("client.json");
        var (created, createOutput) = await PeerProcess.RunAsync("dotnet", [ToolCommands.Esp, "keys", "create", "--email", KeyFiles.Email, "--out", path]);
        Assert.True(created == 0, createOutput);

        var (exitCode, stdout, stderr) = await RunSeparatelyAsync(ToolCommands.Esp, "token", $"--file={path}", $"--issuer={KeyFiles.Email}", "--audiences=bookstore.endpoints.p.cloud.goog");

        Assert.True(exitCode == 0, stderr);
        Assert.Equal("", stderr);
        Assert.Matches(@"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\n$", stdout);
        using var key = ServiceAccountKey.Load(path, out _)!;
        ProxyView.AssertVerifies(Esp.Tools.PublicKeyDocuments.Jwks([PublishedKey.From(key, DateTimeOffset.UtcNow)]), stdout.Trim());
    }

    /// <summary>Runs <c>dotnet ARGS</c> with stdout and stderr kept apart (as <c>$(...)</c> sees stdout only).</summary>
    private static async Task<(int ExitCode, string Stdout, string Stderr)> RunSeparatelyAsync(params string[] arguments)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
            info.ArgumentList.Add(argument);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().DefaultTimeout();
        return (process.ExitCode, await stdout.DefaultTimeout(), await stderr.DefaultTimeout());
    }

    public void Dispose() => _files.Dispose();
}
