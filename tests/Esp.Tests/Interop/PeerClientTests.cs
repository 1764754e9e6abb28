using Esp.Tests.Infrastructure;
using Xunit;

namespace Esp.Tests.Interop;

/// <summary>
/// Python grpcio and @grpc/grpc-js clients against an Echo server: each peer runs one case of
/// tests/peers/interop_client.* and checks everything the case promises itself. Subclasses pick
/// the server.
/// </summary>
public abstract class PeerClientCases(string target)
{
    public static TheoryData<string> Cases { get; } =
    [
        "unary", "server_stream", "client_stream", "bidi", "empty_stream", "error_status", "deadline",
        "cancel_mid_stream", "large_message", "oversize", "gzip", "binary_metadata", "unimplemented", "many_messages",
    ];

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task PythonClient_Case_Passes(string name) =>
        await RunAsync(RepositoryPaths.Python, Path.Combine(RepositoryPaths.Peers, "interop_client.py"), name);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task NodeClient_Case_Passes(string name) =>
        await RunAsync("node", Path.Combine(RepositoryPaths.Peers, "interop_client.js"), name);

    private async Task RunAsync(string program, string script, string name)
    {
        var (exitCode, output) = await PeerProcess.RunAsync(program, [script, "--target", target, "--case", name]);

        Assert.True(exitCode == 0, $"{Path.GetFileName(script)} --case {name} failed:\n{output}");
        Assert.Contains($"PASS {name}", output, StringComparison.Ordinal);
    }
}

/// <summary>Python grpcio and @grpc/grpc-js clients ⇄ our server.</summary>
public sealed class PeerClientTests(OurEchoServerFixture server) : PeerClientCases(server.Target), IClassFixture<OurEchoServerFixture>;
