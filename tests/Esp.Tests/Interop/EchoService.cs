using Esp.Grpc;
using Esp.Grpc.Server;
using Esp.Interop;
using Google.Protobuf;

namespace Esp.Tests.Interop;

/// <summary>
/// Our server side of tests/protos/interop.proto, behaving exactly as the proto's comments and
/// the Python peer (tests/peers/interop_server.py) do, so the same client cases run against both.
/// </summary>
internal sealed class EchoService
{
    private static readonly TimeSpan WaitForCancelBound = TimeSpan.FromSeconds(30);
    private readonly Lock _lock = new();
    private readonly List<(int Count, TaskCompletionSource Signal)> _waiters = [];
    private int _cancelled;

    public int CancelledCalls => Volatile.Read(ref _cancelled);

    public GrpcServiceDefinition CreateDefinition() =>
        GrpcServiceDefinition.CreateBuilder(InteropReflection.Descriptor.FindTypeByName<Google.Protobuf.Reflection.ServiceDescriptor>("Echo"))
            .AddUnary<EchoRequest, EchoResponse>("Unary", Unary)
            .AddServerStreaming<EchoRequest, EchoResponse>("ServerStream", ServerStream)
            .AddClientStreaming<EchoRequest, EchoResponse>("ClientStream", ClientStream)
            .AddDuplexStreaming<EchoRequest, EchoResponse>("Bidi", Bidi)
            .AddUnary<ObservedRequest, ObservedResponse>("Observed", Observed)
            .Build();

    private Task<EchoResponse> Unary(EchoRequest request, ServerCallContext context) =>
        Track(context, async () =>
        {
            Prepare(context, request);
            ThrowIfFailing(request, context);
            if (request.WaitForCancel)
                await WaitForCancelAsync(context);
            await EchoHeadersAsync(context);
            return Respond(request, 0, 1, request.Payload.Length);
        });

    private Task ServerStream(EchoRequest request, IServerStreamWriter<EchoResponse> responses, ServerCallContext context) =>
        Track(context, async () =>
        {
            Prepare(context, request);
            await EchoHeadersAsync(context);
            for (var i = 0; i < request.ResponseCount; i++)
                await responses.WriteAsync(Respond(request, i, 1, request.Payload.Length));
            ThrowIfFailing(request, context);
            if (request.WaitForCancel)
                await WaitForCancelAsync(context);
            return 0;
        });

    private Task<EchoResponse> ClientStream(IAsyncStreamReader<EchoRequest> requests, ServerCallContext context) =>
        Track(context, async () =>
        {
            EchoRequest? last = null;
            Failure? firstFailure = null;
            var count = 0;
            long bytes = 0;
            while (await requests.MoveNext(context.CancellationToken))
            {
                last = requests.Current;
                Prepare(context, last);
                count++;
                bytes += last.Payload.Length;
                if (firstFailure is null && last.Fail is { Code: not 0 })
                    firstFailure = last.Fail;
            }
            if (firstFailure is not null)
                throw Failed(firstFailure, context);
            await EchoHeadersAsync(context);
            var response = last is null ? new EchoResponse() : Respond(last, 0, count, bytes);
            response.MessagesReceived = count;
            response.BytesReceived = bytes;
            return response;
        });

    private Task Bidi(IAsyncStreamReader<EchoRequest> requests, IServerStreamWriter<EchoResponse> responses, ServerCallContext context) =>
        Track(context, async () =>
        {
            var count = 0;
            long bytes = 0;
            var headersSent = false;
            while (await requests.MoveNext(context.CancellationToken))
            {
                var request = requests.Current;
                Prepare(context, request);
                count++;
                bytes += request.Payload.Length;
                ThrowIfFailing(request, context);
                if (request.WaitForCancel)
                    await WaitForCancelAsync(context);
                if (!headersSent)
                {
                    await EchoHeadersAsync(context);
                    headersSent = true;
                }
                await responses.WriteAsync(Respond(request, count - 1, count, bytes));
            }
            return 0;
        });

    private async Task<ObservedResponse> Observed(ObservedRequest request, ServerCallContext context)
    {
        TaskCompletionSource signal;
        lock (_lock)
        {
            if (_cancelled >= request.MinCancelled)
                return new ObservedResponse { Cancelled = _cancelled };
            signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((request.MinCancelled, signal));
        }
        try
        {
            await signal.Task.WaitAsync(TimeSpan.FromSeconds(10), context.CancellationToken);
        }
        catch (TimeoutException)
        {
        }
        return new ObservedResponse { Cancelled = CancelledCalls };
    }

    /// <summary>Runs a handler and counts the call when it ends by cancellation.</summary>
    private async Task<T> Track<T>(ServerCallContext context, Func<Task<T>> handler)
    {
        try
        {
            return await handler();
        }
        catch (Exception) when (context.CancellationToken.IsCancellationRequested)
        {
            lock (_lock)
            {
                _cancelled++;
                foreach (var waiter in _waiters.Where(w => w.Count <= _cancelled).ToList())
                {
                    waiter.Signal.TrySetResult();
                    _waiters.Remove(waiter);
                }
            }
            throw;
        }
    }

    private static void Prepare(ServerCallContext context, EchoRequest request)
    {
        if (request.CompressResponse)
            context.CompressResponses = true;
        if (context.ResponseTrailers.Count == 0)
        {
            foreach (var entry in EchoedMetadata(context))
                context.ResponseTrailers.Add(entry);
        }
    }

    private static async Task EchoHeadersAsync(ServerCallContext context)
    {
        var echoed = new Metadata();
        foreach (var entry in EchoedMetadata(context))
            echoed.Add(entry);
        if (echoed.Count > 0)
            await context.WriteResponseHeadersAsync(echoed);
    }

    /// <summary>x- metadata as sent, and the authorization received as x-received-authorization (as the Python peer does).</summary>
    private static IEnumerable<Metadata.Entry> EchoedMetadata(ServerCallContext context) =>
        context.RequestHeaders.Where(e => e.Key.StartsWith("x-", StringComparison.Ordinal))
            .Concat(context.RequestHeaders.Where(e => e.Key == "authorization").Select(e => new Metadata.Entry("x-received-authorization", e.Value)));

    private static void ThrowIfFailing(EchoRequest request, ServerCallContext context)
    {
        if (request.Fail is { Code: not 0 } failure)
            throw Failed(failure, context);
    }

    private static RpcException Failed(Failure failure, ServerCallContext context)
    {
        var trailers = new Metadata();
        if (!failure.Details.IsEmpty)
            trailers.Add("grpc-status-details-bin", failure.Details.ToByteArray());
        return new RpcException(new Status((StatusCode)failure.Code, failure.Message), trailers);
    }

    private static async Task WaitForCancelAsync(ServerCallContext context)
    {
        await Task.Delay(WaitForCancelBound, context.CancellationToken);
        throw new RpcException(new Status(StatusCode.Internal, "wait_for_cancel: the call was not cancelled within 30 s."));
    }

    private static EchoResponse Respond(EchoRequest request, int index, int received, long bytes) => new()
    {
        Payload = request.ResponseSize > 0 ? Pattern(request.ResponseSize) : request.Payload,
        Index = index,
        MessagesReceived = received,
        BytesReceived = bytes,
    };

    public static ByteString Pattern(int size)
    {
        var bytes = new byte[size];
        for (var i = 0; i < size; i++)
            bytes[i] = (byte)(i % 251);
        return ByteString.CopyFrom(bytes);
    }
}
