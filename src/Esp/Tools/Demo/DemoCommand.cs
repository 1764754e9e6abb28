using System.CommandLine;

namespace Esp.Tools.Demo;

/// <summary><c>esp demo</c>: the seeds' walkthrough, end to end on loopback.</summary>
internal static class DemoCommand
{
    public static Command Create()
    {
        var keep = new Option<bool>("--keep") { Description = "Keep the demo's directory (keys, config, logs) instead of deleting it." };
        var command = new Command("demo",
            "Runs the 'Authentication between services' walkthrough on this machine: a service account key, its published keys, " +
            "the Bookstore backend, the proxy with api_config_auth.yaml, a token, and calls with and without it. Exits non-zero if any step misbehaves.")
        {
            keep,
        };
        command.SetAction(async (result, cancellationToken) =>
        {
            var output = result.InvocationConfiguration.Output;
            await using var walkthrough = new Walkthrough(output, result.GetValue(keep));
            return await walkthrough.RunAsync(cancellationToken) ? 0 : 1;
        });
        return command;
    }
}
