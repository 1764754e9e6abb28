using Esp.Grpc;
using Esp.Grpc.Server;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Logging;

namespace Bookstore.Server;

/// <summary>The Bookstore's RPCs over a <see cref="ShelfStore"/>; without a logger, no log line per call.</summary>
internal sealed partial class BookstoreService(ShelfStore store, ILogger? logger)
{
    public GrpcServiceDefinition CreateDefinition() =>
        GrpcServiceDefinition.CreateBuilder(BookstoreReflection.Descriptor.FindTypeByName<Google.Protobuf.Reflection.ServiceDescriptor>("Bookstore"))
            .AddUnary<Empty, ListShelvesResponse>("ListShelves", ListShelves)
            .AddUnary<CreateShelfRequest, Shelf>("CreateShelf", CreateShelf)
            .AddUnary<GetShelfRequest, Shelf>("GetShelf", GetShelf)
            .AddUnary<DeleteShelfRequest, Empty>("DeleteShelf", DeleteShelf)
            .AddUnary<ListBooksRequest, ListBooksResponse>("ListBooks", ListBooks)
            .AddUnary<CreateBookRequest, Book>("CreateBook", CreateBook)
            .AddUnary<GetBookRequest, Book>("GetBook", GetBook)
            .AddUnary<DeleteBookRequest, Empty>("DeleteBook", DeleteBook)
            .Build();

    private Task<ListShelvesResponse> ListShelves(Empty request, ServerCallContext context) =>
        Handle(context, () =>
        {
            var response = new ListShelvesResponse();
            response.Shelves.AddRange(store.ListShelves());
            return response;
        });

    private Task<Shelf> CreateShelf(CreateShelfRequest request, ServerCallContext context) =>
        Handle(context, () => store.CreateShelf(request.Shelf ?? new Shelf()));

    private Task<Shelf> GetShelf(GetShelfRequest request, ServerCallContext context) =>
        Handle(context, () => store.GetShelf(request.Shelf));

    private Task<Empty> DeleteShelf(DeleteShelfRequest request, ServerCallContext context) =>
        Handle(context, () =>
        {
            store.DeleteShelf(request.Shelf);
            return new Empty();
        });

    private Task<ListBooksResponse> ListBooks(ListBooksRequest request, ServerCallContext context) =>
        Handle(context, () =>
        {
            var response = new ListBooksResponse();
            response.Books.AddRange(store.ListBooks(request.Shelf));
            return response;
        });

    private Task<Book> CreateBook(CreateBookRequest request, ServerCallContext context) =>
        Handle(context, () => store.CreateBook(request.Shelf, request.Book ?? new Book()));

    private Task<Book> GetBook(GetBookRequest request, ServerCallContext context) =>
        Handle(context, () => store.GetBook(request.Shelf, request.Book));

    private Task<Empty> DeleteBook(DeleteBookRequest request, ServerCallContext context) =>
        Handle(context, () =>
        {
            store.DeleteBook(request.Shelf, request.Book);
            return new Empty();
        });

    /// <summary>
    /// Runs one RPC: logs who called (from the proxy's X-Endpoint-API-UserInfo) unless quiet, and turns a
    /// missing item into NOT_FOUND as the Python sample's status.context does.
    /// </summary>
    private Task<T> Handle<T>(ServerCallContext context, Func<T> action)
    {
        if (logger is not null)
            LogCaller(logger, context);
        try
        {
            return Task.FromResult(action());
        }
        catch (KeyNotFoundException ex)
        {
            throw new RpcException(new Status(StatusCode.NotFound, ex.Message));
        }
    }

    private static void LogCaller(ILogger logger, ServerCallContext context)
    {
        if (context.RequestHeaders.GetValue(ConsumerNameHeader) is { } consumer)
            LogConsumer(logger, context.Method, consumer);
        var userInfo = context.RequestHeaders.GetValue(UserInfo.HeaderName);
        if (userInfo is null)
        {
            LogAnonymousCall(logger, context.Method);
            return;
        }
        LogAuthenticatedCall(logger, context.Method, UserInfo.Decode(userInfo));
    }

    /// <summary>The API key's consumer, which the proxy names when the method needed a key.</summary>
    private const string ConsumerNameHeader = "x-endpoint-api-consumer-name";

    [LoggerMessage(3, LogLevel.Information, "{Method}: API consumer {Consumer}")]
    private static partial void LogConsumer(ILogger logger, string method, string consumer);

    [LoggerMessage(1, LogLevel.Information, "{Method}: called without X-Endpoint-API-UserInfo")]
    private static partial void LogAnonymousCall(ILogger logger, string method);

    [LoggerMessage(2, LogLevel.Information, "{Method}: X-Endpoint-API-UserInfo = {UserInfo}")]
    private static partial void LogAuthenticatedCall(ILogger logger, string method, string userInfo);
}
