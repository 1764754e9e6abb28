using System.Runtime.CompilerServices;
using Google.Protobuf;

namespace Esp.Grpc.Client;

/// <summary>A unary call: await it for the response; a failed call throws <see cref="RpcException"/>.</summary>
public sealed class AsyncUnaryCall<TResponse> : IDisposable
{
    private readonly ICallState _call;

    internal AsyncUnaryCall(ICallState call, Task<TResponse> response)
    {
        _call = call;
        ResponseAsync = response;
    }

    public Task<TResponse> ResponseAsync { get; }

    public Task<Metadata> ResponseHeadersAsync => _call.ResponseHeadersAsync;

    public TaskAwaiter<TResponse> GetAwaiter() => ResponseAsync.GetAwaiter();

    public Status GetStatus() => _call.GetStatus();

    public Metadata GetTrailers() => _call.GetTrailers();

    /// <summary>Cancels the call if it is still running.</summary>
    public void Dispose() => _call.Dispose();
}

/// <summary>A server-streaming call: read <see cref="ResponseStream"/> to its end.</summary>
public sealed class AsyncServerStreamingCall<TResponse> : IDisposable
    where TResponse : class
{
    private readonly ICallState _call;

    internal AsyncServerStreamingCall(IResponseSource<TResponse> call)
    {
        _call = call;
        ResponseStream = new ResponseReader<TResponse>(call);
    }

    public IAsyncStreamReader<TResponse> ResponseStream { get; }

    public Task<Metadata> ResponseHeadersAsync => _call.ResponseHeadersAsync;

    public Status GetStatus() => _call.GetStatus();

    public Metadata GetTrailers() => _call.GetTrailers();

    public void Dispose() => _call.Dispose();
}

/// <summary>A client-streaming call: write requests, complete the stream, await the response.</summary>
public sealed class AsyncClientStreamingCall<TRequest, TResponse> : IDisposable
    where TRequest : class
{
    private readonly ICallState _call;

    internal AsyncClientStreamingCall(IRequestSink<TRequest> call, Task<TResponse> response)
    {
        _call = call;
        RequestStream = new RequestWriter<TRequest>(call);
        ResponseAsync = response;
    }

    public IClientStreamWriter<TRequest> RequestStream { get; }

    public Task<TResponse> ResponseAsync { get; }

    public Task<Metadata> ResponseHeadersAsync => _call.ResponseHeadersAsync;

    public TaskAwaiter<TResponse> GetAwaiter() => ResponseAsync.GetAwaiter();

    public Status GetStatus() => _call.GetStatus();

    public Metadata GetTrailers() => _call.GetTrailers();

    public void Dispose() => _call.Dispose();
}

/// <summary>A bidirectional call: write requests and read responses at the same time.</summary>
public sealed class AsyncDuplexStreamingCall<TRequest, TResponse> : IDisposable
    where TRequest : class
    where TResponse : class
{
    private readonly ICallState _call;

    internal AsyncDuplexStreamingCall(IDuplexCall<TRequest, TResponse> call)
    {
        _call = call;
        RequestStream = new RequestWriter<TRequest>(call);
        ResponseStream = new ResponseReader<TResponse>(call);
    }

    public IClientStreamWriter<TRequest> RequestStream { get; }

    public IAsyncStreamReader<TResponse> ResponseStream { get; }

    public Task<Metadata> ResponseHeadersAsync => _call.ResponseHeadersAsync;

    public Status GetStatus() => _call.GetStatus();

    public Metadata GetTrailers() => _call.GetTrailers();

    public void Dispose() => _call.Dispose();
}

internal interface ICallState : IDisposable
{
    Task<Metadata> ResponseHeadersAsync { get; }

    Status GetStatus();

    Metadata GetTrailers();
}

internal interface IResponseSource<TResponse> : ICallState
{
    Task<TResponse?> ReadNextAsync(CancellationToken cancellationToken);
}

internal interface IRequestSink<in TRequest> : ICallState
{
    Task WriteAsync(TRequest message, CancellationToken cancellationToken);

    Task CompleteRequestAsync();
}

internal interface IDuplexCall<in TRequest, TResponse> : IResponseSource<TResponse>, IRequestSink<TRequest>;

internal sealed class ResponseReader<TResponse>(IResponseSource<TResponse> call) : IAsyncStreamReader<TResponse>
    where TResponse : class
{
    public TResponse Current { get; private set; } = null!;

    public async Task<bool> MoveNext(CancellationToken cancellationToken)
    {
        var next = await call.ReadNextAsync(cancellationToken);
        if (next is null)
            return false;
        Current = next;
        return true;
    }
}

internal sealed class RequestWriter<TRequest>(IRequestSink<TRequest> call) : IClientStreamWriter<TRequest>
{
    public Task WriteAsync(TRequest message, CancellationToken cancellationToken = default) => call.WriteAsync(message, cancellationToken);

    public Task CompleteAsync() => call.CompleteRequestAsync();
}
