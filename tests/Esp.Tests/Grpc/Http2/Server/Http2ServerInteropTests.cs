using Esp.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Xunit;
using static Esp.Tests.Grpc.Http2.Http2ClientTesting;

namespace Esp.Tests.Grpc.Http2.Server;

/// <summary>
/// The server against an independent HTTP/2 client that checks what it receives: python-h2
/// (Debian's python3-h2, which ./test installs) runs h2_client.py.
/// </summary>
public sealed class Http2ServerInteropTests
{
    private static readonly string Script = Path.Combine(RepositoryPaths.Root, "tests", "Esp.Tests", "Grpc", "Http2", "Server", "h2_client.py");

    [Fact]
    public async Task PythonH2Client_EchoesBigResponsePingAndClose()
    {
        var big = Pattern(300_000);
        await using var host = Http2ServerHost.Start(handler: async context =>
        {
            if (context.Request.Path == "/pkg.Svc/Big")
            {
                await context.Response.Body.WriteAsync(big);
                return;
            }
            await TestApp.EchoAsync(context);
        });

        var (exitCode, output) = await PeerProcess.RunAsync("/usr/bin/python3", [Script, host.EndPoint.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)]);

        Assert.True(exitCode == 0, $"h2_client.py failed (is python3-h2 installed? ./test installs it):\n{output}");
        Assert.Contains("echo 2 ok", output, StringComparison.Ordinal);
        Assert.Contains("big ok", output, StringComparison.Ordinal);
        Assert.Contains("ping ok", output, StringComparison.Ordinal);
        Assert.Contains("done", output, StringComparison.Ordinal);
        Assert.Equal(3, host.App.Calls);
    }
}
