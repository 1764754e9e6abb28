using Google.Protobuf;

namespace Esp.Grpc.Server;

/// <summary>A bound method: how to run a call of it.</summary>
internal interface IServerMethod
{
    Task InvokeAsync(ServerCall call);
}

/// <summary>Runs one of the four handler kinds against a call.</summary>
internal sealed class ServerMethod<TRequest, TResponse>(MethodType type, Delegate handler) : IServerMethod
    where TRequest : class, IMessage<TRequest>, new()
    where TResponse : class, IMessage<TResponse>, new()
{
    private static readonly MessageParser<TRequest> Parser = new(() => new TRequest());

    public async Task InvokeAsync(ServerCall call)
    {
        var context = call.Context;
        switch (type)
        {
            case MethodType.Unary:
            {
                var request = await call.ReadSingleRequestAsync(Parser);
                var response = await ((UnaryServerMethod<TRequest, TResponse>)handler)(request, context);
                await call.WriteResponseAsync(NotNull(response), context.CancellationToken);
                break;
            }
            case MethodType.ServerStreaming:
            {
                var request = await call.ReadSingleRequestAsync(Parser);
                await ((ServerStreamingServerMethod<TRequest, TResponse>)handler)(request, new ResponseStream(call), context);
                break;
            }
            case MethodType.ClientStreaming:
            {
                var response = await ((ClientStreamingServerMethod<TRequest, TResponse>)handler)(new RequestStream(call), context);
                await call.WriteResponseAsync(NotNull(response), context.CancellationToken);
                break;
            }
            case MethodType.DuplexStreaming:
                await ((DuplexStreamingServerMethod<TRequest, TResponse>)handler)(new RequestStream(call), new ResponseStream(call), context);
                break;
        }
    }

    private static TResponse NotNull(TResponse? response) =>
        response ?? throw new InvalidOperationException("The handler returned no response message.");

    private sealed class RequestStream(ServerCall call) : IAsyncStreamReader<TRequest>
    {
        public TRequest Current { get; private set; } = null!;

        public async Task<bool> MoveNext(CancellationToken cancellationToken)
        {
            var callToken = call.Context.CancellationToken;
            TRequest? next;
            if (!cancellationToken.CanBeCanceled || cancellationToken == callToken)
            {
                next = await call.ReadRequestAsync(Parser, callToken);
            }
            else
            {
                using var linked = CancellationTokenSource.CreateLinkedTokenSource(callToken, cancellationToken);
                next = await call.ReadRequestAsync(Parser, linked.Token);
            }
            if (next is null)
                return false;
            Current = next;
            return true;
        }
    }

    private sealed class ResponseStream(ServerCall call) : IServerStreamWriter<TResponse>
    {
        public Task WriteAsync(TResponse message, CancellationToken cancellationToken = default) =>
            call.WriteResponseAsync(message, cancellationToken.CanBeCanceled ? cancellationToken : call.Context.CancellationToken);
    }
}

/// <summary>A method of the service's descriptor that no handler was bound to.</summary>
internal sealed class UnimplementedMethod : IServerMethod
{
    public static readonly UnimplementedMethod Instance = new();

    private static readonly Status UnimplementedStatus = new(StatusCode.Unimplemented, "Method is unimplemented.");

    public Task InvokeAsync(ServerCall call) => throw new RpcException(UnimplementedStatus);
}
