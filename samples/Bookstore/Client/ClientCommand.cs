using System.CommandLine;
using System.Security.Cryptography.X509Certificates;
using Esp.Grpc;
using Esp.Grpc.Client;
using Google.Protobuf;

namespace Bookstore.Client;

/// <summary>
/// <c>bookstore client</c>: the sample's bookstore_client.py, with the same flags, plus
/// <c>--call</c> to reach every RPC.
/// </summary>
internal static class ClientCommand
{
    private static readonly string[] Calls =
        ["ListShelves", "CreateShelf", "GetShelf", "DeleteShelf", "ListBooks", "CreateBook", "GetBook", "DeleteBook"];

    public static Command Create()
    {
        var host = new Option<string>("--host") { Description = "The host to connect to.", DefaultValueFactory = _ => "localhost" };
        var port = new Option<int>("--port") { Description = "The port to connect to.", DefaultValueFactory = _ => 8000 };
        var timeout = new Option<double>("--timeout") { Description = "The call timeout, in seconds.", DefaultValueFactory = _ => 10 };
        var apiKey = new Option<string?>("--api_key") { Description = "The API key to use for the call (sent as x-api-key)." };
        var authToken = new Option<string?>("--auth_token") { Description = "The JWT auth token to use for the call (sent as authorization: Bearer ...)." };
        var useTls = new Option<bool>("--use_tls") { Description = "Connect with TLS." };
        var serverName = new Option<string?>("--servername_override", "--servername") { Description = "The server name to expect in the server's certificate (and to send as SNI)." };
        var caPath = new Option<string?>("--ca_path") { Description = "PEM file of the CA to trust instead of the system's roots (with --use_tls)." };
        var call = new Option<string>("--call") { Description = "The RPC to make.", DefaultValueFactory = _ => "ListShelves" };
        call.AcceptOnlyFromAmong(Calls);
        var shelf = new Option<long>("--shelf") { Description = "Shelf id (GetShelf, DeleteShelf, ListBooks, CreateBook, GetBook, DeleteBook)." };
        var book = new Option<long>("--book") { Description = "Book id (GetBook, DeleteBook)." };
        var theme = new Option<string>("--theme") { Description = "Theme of the new shelf (CreateShelf).", DefaultValueFactory = _ => "" };
        var author = new Option<string>("--author") { Description = "Author of the new book (CreateBook).", DefaultValueFactory = _ => "" };
        var title = new Option<string>("--title") { Description = "Title of the new book (CreateBook).", DefaultValueFactory = _ => "" };

        var command = new Command("client", "Calls the Bookstore (ListShelves unless --call says otherwise) and prints the response.")
        {
            host, port, timeout, apiKey, authToken, useTls, serverName, caPath, call, shelf, book, theme, author, title,
        };
        command.SetAction(async (result, cancellationToken) =>
        {
            var roots = result.GetValue(caPath) is { } ca ? LoadRoots(ca) : null;
            var scheme = result.GetValue(useTls) ? "https" : "http";
            using var channel = GrpcChannel.ForAddress($"{scheme}://{result.GetValue(host)}:{result.GetValue(port)}", new GrpcChannelOptions
            {
                RootCertificates = roots,
                ServerNameOverride = result.GetValue(serverName),
            });
            var metadata = new Metadata();
            if (result.GetValue(apiKey) is { } key)
                metadata.Add("x-api-key", key);
            if (result.GetValue(authToken) is { } token)
                metadata.Add("authorization", "Bearer " + token);
            var seconds = result.GetValue(timeout);
            var client = new BookstoreClient(channel, () => new CallOptions
            {
                Headers = metadata,
                Timeout = TimeSpan.FromSeconds(seconds),
                CancellationToken = cancellationToken,
            });

            var rpc = result.GetValue(call)!;
            try
            {
                IMessage response = rpc switch
                {
                    "ListShelves" => await client.ListShelvesAsync(),
                    "CreateShelf" => await client.CreateShelfAsync(result.GetValue(theme)!),
                    "GetShelf" => await client.GetShelfAsync(result.GetValue(shelf)),
                    "DeleteShelf" => await client.DeleteShelfAsync(result.GetValue(shelf)),
                    "ListBooks" => await client.ListBooksAsync(result.GetValue(shelf)),
                    "CreateBook" => await client.CreateBookAsync(result.GetValue(shelf), result.GetValue(author)!, result.GetValue(title)!),
                    "GetBook" => await client.GetBookAsync(result.GetValue(shelf), result.GetValue(book)),
                    _ => await client.DeleteBookAsync(result.GetValue(shelf), result.GetValue(book)),
                };
                Console.WriteLine($"{rpc}: {JsonFormatter.Default.Format(response)}");
                return 0;
            }
            catch (RpcException ex)
            {
                await Console.Error.WriteLineAsync($"{rpc} failed: {ex.StatusCode}: {ex.Status.Detail}");
                return 1;
            }
        });
        return command;
    }

    private static X509Certificate2Collection LoadRoots(string path)
    {
        var roots = new X509Certificate2Collection();
        roots.ImportFromPemFile(path);
        return roots;
    }
}
