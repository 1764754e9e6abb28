using System.Net;
using Bookstore.Server;
using Microsoft.Extensions.Logging;
using Xunit;

namespace Esp.Tests.Bookstore;

/// <summary>The sample's Bookstore server, in process, on a free loopback port.</summary>
public sealed class BookstoreServerFixture : IAsyncLifetime
{
    private BookstoreServer? _server;

    public int Port => _server!.Port;

    public async Task InitializeAsync() =>
        _server = await BookstoreServer.StartAsync(
            new BookstoreServerOptions { Address = IPAddress.Loopback, MinimumLogLevel = LogLevel.Warning },
            logging => logging.ClearProviders());

    public async Task DisposeAsync()
    {
        if (_server is not null)
            await _server.DisposeAsync();
    }
}
