using Esp.Tests.Infrastructure;
using Xunit;

namespace Esp.Tests.Functional;

/// <summary><c>esp demo</c>, the README's main command: the seeds' walkthrough must behave as they say.</summary>
public sealed class DemoTests
{
    [Fact]
    public async Task Demo_Walkthrough_EveryStepBehavesAndExitsZero()
    {
        var esp = Path.Combine(AppContext.BaseDirectory, "esp.dll");

        var (exitCode, output) = await PeerProcess.RunAsync("dotnet", [esp, "demo"], timeout: TimeSpan.FromSeconds(90));

        Assert.True(exitCode == 0, output);
        Assert.Contains("✓ the call with the token lists the shelves", output, StringComparison.Ordinal);
        Assert.Contains("JWT validation failed: Jwt is missing", output, StringComparison.Ordinal);
        Assert.Contains("JWT validation failed: Jwt issuer is not configured", output, StringComparison.Ordinal);
        Assert.Contains("\"id\": \"bookstore-client@demo-consumer.iam.gserviceaccount.com\"", output, StringComparison.Ordinal);
        Assert.Contains("✓ the call with the key creates the shelf", output, StringComparison.Ordinal);
        Assert.Contains("✓ the backend learned the consumer (X-Endpoint-API-Consumer-Name)", output, StringComparison.Ordinal);
        Assert.Contains("InvalidArgument: API key not valid. Please pass a valid API key.", output, StringComparison.Ordinal);
        Assert.Contains("Every step behaved as the walkthrough says.", output, StringComparison.Ordinal);
        Assert.DoesNotContain("✗", output, StringComparison.Ordinal);
    }
}
