using Esp.Grpc;
using Esp.Grpc.Client;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace Bookstore.Client;

/// <summary>A typed client of every Bookstore RPC.</summary>
internal sealed class BookstoreClient(GrpcChannel channel, Func<CallOptions> callOptions)
{
    private static readonly Google.Protobuf.Reflection.ServiceDescriptor Service =
        BookstoreReflection.Descriptor.FindTypeByName<Google.Protobuf.Reflection.ServiceDescriptor>("Bookstore");

    public static readonly Method<Empty, ListShelvesResponse> ListShelvesMethod = MethodOf<Empty, ListShelvesResponse>("ListShelves");
    public static readonly Method<CreateShelfRequest, Shelf> CreateShelfMethod = MethodOf<CreateShelfRequest, Shelf>("CreateShelf");
    public static readonly Method<GetShelfRequest, Shelf> GetShelfMethod = MethodOf<GetShelfRequest, Shelf>("GetShelf");
    public static readonly Method<DeleteShelfRequest, Empty> DeleteShelfMethod = MethodOf<DeleteShelfRequest, Empty>("DeleteShelf");
    public static readonly Method<ListBooksRequest, ListBooksResponse> ListBooksMethod = MethodOf<ListBooksRequest, ListBooksResponse>("ListBooks");
    public static readonly Method<CreateBookRequest, Book> CreateBookMethod = MethodOf<CreateBookRequest, Book>("CreateBook");
    public static readonly Method<GetBookRequest, Book> GetBookMethod = MethodOf<GetBookRequest, Book>("GetBook");
    public static readonly Method<DeleteBookRequest, Empty> DeleteBookMethod = MethodOf<DeleteBookRequest, Empty>("DeleteBook");

    public Task<ListShelvesResponse> ListShelvesAsync() => Call(ListShelvesMethod, new Empty());

    public Task<Shelf> CreateShelfAsync(string theme) => Call(CreateShelfMethod, new CreateShelfRequest { Shelf = new Shelf { Theme = theme } });

    public Task<Shelf> GetShelfAsync(long shelf) => Call(GetShelfMethod, new GetShelfRequest { Shelf = shelf });

    public Task<Empty> DeleteShelfAsync(long shelf) => Call(DeleteShelfMethod, new DeleteShelfRequest { Shelf = shelf });

    public Task<ListBooksResponse> ListBooksAsync(long shelf) => Call(ListBooksMethod, new ListBooksRequest { Shelf = shelf });

    public Task<Book> CreateBookAsync(long shelf, string author, string title) =>
        Call(CreateBookMethod, new CreateBookRequest { Shelf = shelf, Book = new Book { Author = author, Title = title } });

    public Task<Book> GetBookAsync(long shelf, long book) => Call(GetBookMethod, new GetBookRequest { Shelf = shelf, Book = book });

    public Task<Empty> DeleteBookAsync(long shelf, long book) => Call(DeleteBookMethod, new DeleteBookRequest { Shelf = shelf, Book = book });

    private Task<TResponse> Call<TRequest, TResponse>(Method<TRequest, TResponse> method, TRequest request)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new() =>
        channel.UnaryCall(method, request, callOptions()).ResponseAsync;

    private static Method<TRequest, TResponse> MethodOf<TRequest, TResponse>(string name)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new() =>
        Methods.FromDescriptor<TRequest, TResponse>(Service.FindMethodByName(name));
}
