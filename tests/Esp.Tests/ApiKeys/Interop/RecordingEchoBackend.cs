using System.Collections.Concurrent;
using Esp.Grpc;
using Esp.Grpc.Server;
using Esp.Interop;

namespace Esp.Tests.ApiKeys.Interop;

/// <summary>
/// The Echo service's Unary and ServerStream, as tests/protos/interop.proto says, keeping a record of
/// every call that reached it: the <c>:path</c> and query it saw and its metadata, filed under the
/// call's <c>x-call-id</c>. Like the Interop Echo server it echoes the <c>x-</c> request metadata in its
/// response headers and trailers, so a peer's report shows the backend's view too; the record says
/// what the peer's report cannot: that a refused call never arrived.
/// </summary>
internal sealed class RecordingEchoBackend
{
    public const string CallIdHeader = "x-call-id";

    private readonly ConcurrentDictionary<string, BackendCall> _calls = new(StringComparer.Ordinal);

    /// <summary>The call with this <c>x-call-id</c>, or null when none reached the backend.</summary>
    public BackendCall? Find(string callId) => _calls.GetValueOrDefault(callId);

    public GrpcServiceDefinition CreateDefinition() =>
        GrpcServiceDefinition.CreateBuilder(InteropReflection.Descriptor.FindTypeByName<Google.Protobuf.Reflection.ServiceDescriptor>("Echo"))
            .AddUnary<EchoRequest, EchoResponse>("Unary", Unary)
            .AddServerStreaming<EchoRequest, EchoResponse>("ServerStream", ServerStream)
            .Build();

    private async Task<EchoResponse> Unary(EchoRequest request, ServerCallContext context)
    {
        await RecordAndEchoAsync(context);
        return new EchoResponse { Payload = request.Payload, MessagesReceived = 1, BytesReceived = request.Payload.Length };
    }

    private async Task ServerStream(EchoRequest request, IServerStreamWriter<EchoResponse> responses, ServerCallContext context)
    {
        await RecordAndEchoAsync(context);
        for (var i = 0; i < request.ResponseCount; i++)
            await responses.WriteAsync(new EchoResponse { Payload = request.Payload, Index = i, MessagesReceived = 1, BytesReceived = request.Payload.Length });
    }

    private Task RecordAndEchoAsync(ServerCallContext context)
    {
        var request = context.HttpContext.Request;
        var headers = context.RequestHeaders.Where(e => !e.IsBinary)
            .GroupBy(e => e.Key, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Select(e => e.Value).ToArray(), StringComparer.Ordinal);
        var call = new BackendCall(request.Path.Value ?? "", request.QueryString.Value ?? "", headers);
        if (context.RequestHeaders.GetValue(CallIdHeader) is { } callId)
            _calls[callId] = call;

        var echoed = new Metadata();
        foreach (var entry in context.RequestHeaders.Where(e => e.Key.StartsWith("x-", StringComparison.Ordinal)))
        {
            echoed.Add(entry);
            context.ResponseTrailers.Add(entry);
        }
        return echoed.Count > 0 ? context.WriteResponseHeadersAsync(echoed) : Task.CompletedTask;
    }
}

/// <summary>One call as the backend received it.</summary>
/// <param name="Path">The <c>:path</c> without its query.</param>
/// <param name="Query">The query string with its <c>?</c>, or empty.</param>
/// <param name="Headers">The text metadata: every value of each key, in order.</param>
internal sealed record BackendCall(string Path, string Query, IReadOnlyDictionary<string, string[]> Headers)
{
    public string[] Values(string key) => Headers.GetValueOrDefault(key) ?? [];
}
