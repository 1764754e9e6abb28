using Esp.Tests.Infrastructure;
using Xunit;

namespace Esp.Tests.Interop;

/// <summary>
/// Python grpcio and @grpc/grpc-js clients ⇄ our server: each peer runs one case of
/// tests/peers/interop_client.* and checks everything the case promises itself.
/// </summary>
public sealed class PeerClientTests(OurEchoServerFixture server) : IClassFixture<OurEchoServerFixture>
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
        var (exitCode, output) = await PeerProcess.RunAsync(program, [script, "--target", server.Target, "--case", name]);

        Assert.True(exitCode == 0, $"{Path.GetFileName(script)} --case {name} failed:\n{output}");
        Assert.Contains($"PASS {name}", output, StringComparison.Ordinal);
    }
}
