using System.CommandLine;
using System.Globalization;
using System.Net;

namespace Bookstore.Server;

/// <summary><c>bookstore server</c>: the sample's bookstore_server.py.</summary>
internal static class ServerCommand
{
    public static Command Create()
    {
        var port = new Option<int?>("--port") { Description = "The port to listen on (0 picks a free one). Default: $PORT, else 8000." };
        var address = new Option<string>("--listen") { Description = "The address to listen on.", DefaultValueFactory = _ => "::" };
        var cert = new Option<string?>("--tls_cert") { Description = "PEM certificate: serve TLS instead of cleartext HTTP/2 (needs --tls_key)." };
        var key = new Option<string?>("--tls_key") { Description = "PEM private key of --tls_cert." };
        var quiet = new Option<bool>("--quiet") { Description = "No log line per call: count the calls by grpc-status instead, served as JSON at GET /stats (for benchmarks)." };

        var command = new Command("server", "Serves the Bookstore over gRPC, starting with shelves 1 (Fiction) and 2 (Fantasy).")
        {
            port, address, cert, key, quiet,
        };
        command.Validators.Add(result =>
        {
            if ((result.GetValue(cert) is null) != (result.GetValue(key) is null))
                result.AddError("--tls_cert and --tls_key go together.");
        });
        command.SetAction(async (result, cancellationToken) =>
        {
            var chosenPort = result.GetValue(port)
                ?? (int.TryParse(Environment.GetEnvironmentVariable("PORT"), NumberStyles.None, CultureInfo.InvariantCulture, out var envPort) ? envPort : 8000);
            await using var server = await BookstoreServer.StartAsync(new BookstoreServerOptions
            {
                Port = chosenPort,
                Address = IPAddress.Parse(result.GetValue(address)!),
                TlsCertificatePath = result.GetValue(cert),
                TlsKeyPath = result.GetValue(key),
                Quiet = result.GetValue(quiet),
            });
            Console.WriteLine($"Bookstore server listening on port {server.Port}");
            await server.WaitForShutdownAsync();
            return 0;
        });
        return command;
    }
}
