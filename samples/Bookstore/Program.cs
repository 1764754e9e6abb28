using System.CommandLine;
using Bookstore.Client;
using Bookstore.Server;

var root = new RootCommand("The Bookstore gRPC sample of Cloud Endpoints: a server and a client.")
{
    ServerCommand.Create(),
    ClientCommand.Create(),
};
return await root.Parse(args).InvokeAsync();
