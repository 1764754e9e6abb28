using System.Net;
using Bookstore.Client;
using Bookstore.Server;
using Esp.Grpc;
using Esp.Grpc.Client;
using Esp.Tests.Infrastructure;
using Esp.Tests.Tools;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Logging;
using Xunit;

namespace Esp.Tests.Bookstore;

/// <summary>The quiet Bookstore server the load benchmark runs: no log line per call, the calls counted by grpc-status at GET /stats.</summary>
public sealed class BookstoreQuietTests
{
    [Fact]
    public async Task Quiet_CallsEndingOkAndInError_CountedByStatusNotLogged()
    {
        var log = new CapturedLog();
        await using var server = await StartAsync(quiet: true, log);
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{server.Port}");
        var client = new BookstoreClient(channel, () => new CallOptions { Timeout = TimeSpan.FromSeconds(10) });
        var missingMethod = new Method<Empty, Empty>(MethodType.Unary, "endpoints.examples.bookstore.Bookstore", "NoSuchMethod");

        await client.ListShelvesAsync().DefaultTimeout();
        await client.GetBookAsync(1, 1).DefaultTimeout();
        await Assert.ThrowsAsync<RpcException>(() => client.GetShelfAsync(999)).DefaultTimeout();
        await Assert.ThrowsAsync<RpcException>(() => channel.UnaryCall(missingMethod, new Empty(), new CallOptions()).ResponseAsync).DefaultTimeout();
        var (status, stats) = await GetStatsAsync(server.Port);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("""{"calls":4,"status":{"0":2,"5":1,"12":1}}""", stats);
        Assert.Empty(log.Lines);
    }

    [Fact]
    public async Task NotQuiet_Call_LoggedAndNoStats()
    {
        var log = new CapturedLog();
        await using var server = await StartAsync(quiet: false, log);
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{server.Port}");

        await new BookstoreClient(channel, () => new CallOptions()).ListShelvesAsync().DefaultTimeout();
        var (status, _) = await GetStatsAsync(server.Port);

        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Contains("Information: /endpoints.examples.bookstore.Bookstore/ListShelves: called without X-Endpoint-API-UserInfo", log.Lines);
    }

    /// <summary>GET /stats over h2c, as bench/load.sh reads it with curl.</summary>
    internal static async Task<(HttpStatusCode Status, string Body)> GetStatsAsync(int port)
    {
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false });
        using var response = await http.SendAsync(new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{port}/stats")
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        }).DefaultTimeout();
        return (response.StatusCode, await response.Content.ReadAsStringAsync().DefaultTimeout());
    }

    private static Task<BookstoreServer> StartAsync(bool quiet, CapturedLog log) =>
        BookstoreServer.StartAsync(new BookstoreServerOptions { Address = IPAddress.Loopback, Quiet = quiet }, logging =>
        {
            logging.ClearProviders();
            logging.AddProvider(log);
        }).DefaultTimeout();
}
