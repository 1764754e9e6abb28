using System.CommandLine;

namespace Esp.Cli;

/// <summary>The <c>esp</c> command line: System.CommandLine wiring only.</summary>
internal static class EspCommand
{
    public static RootCommand Create()
    {
        var root = new RootCommand(
            "ESP for .NET: the Extensible Service Proxy for gRPC services. It checks every call's JWT and " +
            "API key against a google.api.Service config before forwarding it to the backend.");
        root.Subcommands.Add(RunCommand.Create());
        root.Subcommands.Add(ValidateCommand.Create());
        root.Subcommands.Add(Tools.KeysCommand.Create());
        root.Subcommands.Add(Tools.ApiKeysCommand.Create());
        root.Subcommands.Add(Tools.TokenCommand.Create());
        root.Subcommands.Add(Tools.Demo.DemoCommand.Create());
        return root;
    }
}
