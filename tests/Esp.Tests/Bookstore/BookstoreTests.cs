using Bookstore.Client;
using Endpoints.Examples.Bookstore;
using Esp.Grpc;
using Esp.Grpc.Client;
using Esp.Tests.Infrastructure;
using Xunit;

namespace Esp.Tests.Bookstore;

/// <summary>The Bookstore client against the Bookstore server: every RPC, as the sample defines them.</summary>
public sealed class BookstoreTests(BookstoreServerFixture server) : IClassFixture<BookstoreServerFixture>, IDisposable
{
    private readonly GrpcChannel _channel = GrpcChannel.ForAddress($"http://127.0.0.1:{server.Port}");

    private BookstoreClient Client => new(_channel, () => new CallOptions { Timeout = TimeSpan.FromSeconds(10) });

    [Fact]
    public async Task ListShelves_FreshServer_SampleShelves()
    {
        var shelves = (await Client.ListShelvesAsync().DefaultTimeout()).Shelves;

        Assert.Contains(shelves, s => s.Id == 1 && s.Theme == "Fiction");
        Assert.Contains(shelves, s => s.Id == 2 && s.Theme == "Fantasy");
    }

    [Fact]
    public async Task GetBook_SampleBooks_AsPublished()
    {
        var reamde = await Client.GetBookAsync(1, 1).DefaultTimeout();
        var thrones = await Client.GetBookAsync(2, 1).DefaultTimeout();

        Assert.Equal(("REAMDE", "Neal Stephenson"), (reamde.Title, reamde.Author));
        Assert.Equal(("A Game of Thrones", "George R.R. Martin"), (thrones.Title, thrones.Author));
    }

    [Fact]
    public async Task ShelfAndBookLifecycle_EveryRpc_BehavesAsTheSample()
    {
        var client = Client;
        var first = await client.CreateShelfAsync("Poetry").DefaultTimeout();
        var second = await client.CreateShelfAsync("Drama").DefaultTimeout();
        Assert.True(first.Id > 2 && second.Id > first.Id, "shelf ids are global and increasing");
        Assert.Equal("Poetry", (await client.GetShelfAsync(first.Id).DefaultTimeout()).Theme);

        var book1 = await client.CreateBookAsync(first.Id, "Rilke", "Duino Elegies").DefaultTimeout();
        var book2 = await client.CreateBookAsync(first.Id, "Szymborska", "View with a Grain of Sand").DefaultTimeout();
        var otherShelfBook = await client.CreateBookAsync(second.Id, "Ibsen", "Ghosts").DefaultTimeout();
        Assert.Equal((1L, 2L, 1L), (book1.Id, book2.Id, otherShelfBook.Id));

        var books = (await client.ListBooksAsync(first.Id).DefaultTimeout()).Books;
        Assert.Equal(["Duino Elegies", "View with a Grain of Sand"], books.Select(b => b.Title));
        Assert.Equal("Rilke", (await client.GetBookAsync(first.Id, 1).DefaultTimeout()).Author);

        await client.DeleteBookAsync(first.Id, 1).DefaultTimeout();
        var missingBook = await Assert.ThrowsAsync<RpcException>(() => client.GetBookAsync(first.Id, 1)).DefaultTimeout();
        Assert.Equal(StatusCode.NotFound, missingBook.StatusCode);
        Assert.Equal("Unable to find the item keyed by 1", missingBook.Status.Detail);

        await client.DeleteShelfAsync(first.Id).DefaultTimeout();
        var missingShelf = await Assert.ThrowsAsync<RpcException>(() => client.GetShelfAsync(first.Id)).DefaultTimeout();
        Assert.Equal(StatusCode.NotFound, missingShelf.StatusCode);
        Assert.Equal($"Unable to find the item keyed by {first.Id}", missingShelf.Status.Detail);
        Assert.DoesNotContain((await client.ListShelvesAsync().DefaultTimeout()).Shelves, s => s.Id == first.Id);
    }

    [Theory]
    [InlineData("ListBooks")]
    [InlineData("CreateBook")]
    [InlineData("DeleteShelf")]
    [InlineData("DeleteBook")]
    public async Task MissingShelf_AnyRpc_NotFound(string rpc)
    {
        var client = Client;
        Task call = rpc switch
        {
            "ListBooks" => client.ListBooksAsync(999),
            "CreateBook" => client.CreateBookAsync(999, "a", "t"),
            "DeleteShelf" => client.DeleteShelfAsync(999),
            _ => client.DeleteBookAsync(999, 1),
        };

        var error = await Assert.ThrowsAsync<RpcException>(() => call).DefaultTimeout();

        Assert.Equal(StatusCode.NotFound, error.StatusCode);
        Assert.Equal("Unable to find the item keyed by 999", error.Status.Detail);
    }

    [Fact]
    public async Task PythonSampleClient_ListShelves_PrintsShelves()
    {
        var (exitCode, output) = await PeerProcess.RunAsync(RepositoryPaths.Python,
            [Path.Combine(RepositoryPaths.Peers, "bookstore_client.py"), "--host", "127.0.0.1", "--port", server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)]);

        Assert.True(exitCode == 0, output);
        Assert.Contains("ListShelves: shelves {", output, StringComparison.Ordinal);
        Assert.Contains("theme: \"Fiction\"", output, StringComparison.Ordinal);
    }

    public void Dispose() => _channel.Dispose();
}
