using System.CommandLine;
using System.Net;
using System.Runtime.InteropServices;
using Esp.Auth.ServiceAccounts;

namespace Esp.Tools;

/// <summary>
/// <c>esp keys create</c> (a service account key file in Google's format) and <c>esp keys serve</c>
/// (publishes a directory of them the way Google publishes service accounts' public keys).
/// </summary>
internal static class KeysCommand
{
    /// <summary>The exit code for bad input (as <c>esp run</c> and <c>esp validate</c>).</summary>
    public const int BadInput = 2;

    public static Command Create()
    {
        var command = new Command("keys", "Service account keys: create them in Google's JSON key format, and publish their public keys as Google does.");
        command.Subcommands.Add(CreateCommand());
        command.Subcommands.Add(ServeCommand());
        return command;
    }

    private static Command CreateCommand()
    {
        var email = new Option<string?>("--email") { Description = $"The service account: {ServiceAccountEmail.Shape}." };
        var output = new Option<string?>("--out") { Description = "The key file to write (readable by you only, mode 0600)." };
        var force = new Option<bool>("--force") { Description = "Replace the file if it exists." };
        var command = new Command("create", "Creates an RSA-2048 service account key file in Google's JSON format (as the Cloud console downloads it).")
        {
            email, output, force,
        };
        command.SetAction(result =>
        {
            var error = result.InvocationConfiguration.Error;
            var address = result.GetValue(email);
            var path = result.GetValue(output);
            if (string.IsNullOrEmpty(path))
            {
                error.WriteLine($"esp keys create: give the file to write: --out FILE (and --email {ServiceAccountEmail.Shape})");
                return BadInput;
            }
            if (!ServiceAccountEmail.TryParse(address, out _, out var problem))
            {
                error.WriteLine($"esp keys create: --email: {problem}");
                return BadInput;
            }
            using var key = ServiceAccountKey.Create(address!);
            if (key.Save(path, result.GetValue(force)) is { } saveProblem)
            {
                error.WriteLine($"esp keys create: {saveProblem}");
                return BadInput;
            }
            var writer = result.InvocationConfiguration.Output;
            writer.WriteLine($"wrote {path} (mode 0600: it holds the private key)");
            writer.WriteLine($"service account: {key.ClientEmail}");
            writer.WriteLine($"key id:          {key.PrivateKeyId}");
            return 0;
        });
        return command;
    }

    private static Command ServeCommand()
    {
        var directory = new Option<string?>("--dir") { Description = "The directory of service account key files to publish (files added or removed later are picked up)." };
        var port = new Option<int?>("--port") { Description = "The port to listen on; 0 picks a free one." };
        var listen = new Option<string>("--listen") { Description = "The address to listen on.", DefaultValueFactory = _ => "127.0.0.1" };
        var command = new Command("serve",
            $"Publishes the public keys of every key file in a directory as Google does: {KeyServer.X509Path}EMAIL (X.509 certificate map) " +
            $"and {KeyServer.JwksPath}EMAIL (JWKS). Runs until SIGTERM or Ctrl+C.")
        {
            directory, port, listen,
        };
        command.SetAction(async (result, cancellationToken) =>
        {
            var output = result.InvocationConfiguration.Output;
            var error = result.InvocationConfiguration.Error;
            var problems = new List<string>();
            var dir = result.GetValue(directory);
            if (string.IsNullOrEmpty(dir))
                problems.Add("give the directory of key files: --dir DIR");
            else if (!Directory.Exists(dir))
                problems.Add($"--dir: {dir} is not a directory");
            var portNumber = result.GetValue(port);
            if (portNumber is null)
                problems.Add("give the port to listen on: --port N (0 picks a free one)");
            else if (portNumber is < 0 or > 65535)
                problems.Add($"--port: {portNumber} is not a port (0-65535)");
            if (!IPAddress.TryParse(result.GetValue(listen), out var address))
                problems.Add($"--listen: '{result.GetValue(listen)}' is not an IP address");
            if (problems.Count > 0)
            {
                foreach (var problem in problems)
                    await error.WriteLineAsync($"esp keys serve: {problem}");
                return BadInput;
            }

            // System.CommandLine 2.0.0 cancels the action's token on signals only when
            // InvocationConfiguration.ProcessTerminationTimeout is set (it is null by default): listen here.
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
            using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
            KeyServer server;
            try
            {
                server = await KeyServer.StartAsync(dir!, address!, portNumber!.Value, cancellationToken: stop.Token);
            }
            catch (IOException ex)
            {
                await error.WriteLineAsync($"esp keys serve: cannot listen on {new IPEndPoint(address!, portNumber!.Value)}: {ex.Message}");
                return 1;
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                // Stopped while starting.
                return 0;
            }
            await using (server)
            {
                await output.WriteLineAsync($"listening on {server.Port}");
                var any = false;
                foreach (var key in server.Keys)
                {
                    any = true;
                    await output.WriteLineAsync($"published {key.Email} key {key.KeyId}: {server.X509Url(key.Email)} {server.JwksUrl(key.Email)}");
                }
                if (!any)
                {
                    await output.WriteLineAsync($"no key files in {server.DirectoryPath} yet: add some (esp keys create --email {ServiceAccountEmail.Shape} " +
                        $"--out {Path.Combine(server.DirectoryPath, "KEY.json")}); they are published without a restart");
                }
                await output.FlushAsync(CancellationToken.None);
                await server.WaitForShutdownAsync(stop.Token);
            }
            return 0;

            void Stop(PosixSignalContext context)
            {
                context.Cancel = true;
                stop.Cancel();
            }
        });
        return command;
    }
}
