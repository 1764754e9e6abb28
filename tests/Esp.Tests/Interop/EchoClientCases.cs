using System.Security.Cryptography;
using Esp.Grpc;
using Esp.Grpc.Client;
using Esp.Interop;
using Esp.Tests.Infrastructure;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Xunit;

namespace Esp.Tests.Interop;

/// <summary>
/// Our client against an Echo server: the same cases the Python and Node peers' clients run
/// (tests/peers/interop_client.*). Subclasses pick the server.
/// </summary>
public abstract class EchoClientCases : IDisposable
{
    private static readonly ServiceDescriptor Service = InteropReflection.Descriptor.FindTypeByName<ServiceDescriptor>("Echo");
    internal static readonly Method<EchoRequest, EchoResponse> Unary = Methods.FromDescriptor<EchoRequest, EchoResponse>(Service.FindMethodByName("Unary"));
    internal static readonly Method<EchoRequest, EchoResponse> ServerStream = Methods.FromDescriptor<EchoRequest, EchoResponse>(Service.FindMethodByName("ServerStream"));
    internal static readonly Method<EchoRequest, EchoResponse> ClientStream = Methods.FromDescriptor<EchoRequest, EchoResponse>(Service.FindMethodByName("ClientStream"));
    internal static readonly Method<EchoRequest, EchoResponse> Bidi = Methods.FromDescriptor<EchoRequest, EchoResponse>(Service.FindMethodByName("Bidi"));
    internal static readonly Method<ObservedRequest, ObservedResponse> Observed = Methods.FromDescriptor<ObservedRequest, ObservedResponse>(Service.FindMethodByName("Observed"));

    private const int FourMiBLess64 = (4 * 1024 * 1024) - 64;

    private readonly Uri _address;
    private readonly GrpcChannel _channel;

    protected EchoClientCases(Uri address)
    {
        _address = address;
        _channel = EchoChannels.Create(address);
    }

    private static CallOptions Bounded => new() { Timeout = TimeSpan.FromSeconds(10) };

    [Fact]
    public async Task Unary_Payload_Echoed()
    {
        var response = await _channel.UnaryCall(Unary, new EchoRequest { Payload = ByteString.CopyFromUtf8("hello") }, Bounded).ResponseAsync.DefaultTimeout();

        Assert.Equal("hello", response.Payload.ToStringUtf8());
        Assert.Equal(0, response.Index);
        Assert.Equal(1, response.MessagesReceived);
    }

    [Fact]
    public async Task ServerStream_FiveRequested_FiveInOrder()
    {
        using var call = _channel.ServerStreamingCall(ServerStream, new EchoRequest { Payload = ByteString.CopyFromUtf8("s"), ResponseCount = 5 }, Bounded);
        var responses = await ReadAllAsync(call.ResponseStream).DefaultTimeout();

        Assert.Equal([0, 1, 2, 3, 4], responses.Select(r => r.Index));
        Assert.All(responses, r => Assert.Equal("s", r.Payload.ToStringUtf8()));
        Assert.Equal(StatusCode.OK, call.GetStatus().Code);
    }

    [Fact]
    public async Task ClientStream_FourRequests_Counted()
    {
        using var call = _channel.ClientStreamingCall(ClientStream, Bounded);
        for (var size = 1; size <= 4; size++)
            await call.RequestStream.WriteAsync(new EchoRequest { Payload = ByteString.CopyFrom(new byte[size]) }).DefaultTimeout();
        await call.RequestStream.CompleteAsync().DefaultTimeout();
        var response = await call.ResponseAsync.DefaultTimeout();

        Assert.Equal(4, response.MessagesReceived);
        Assert.Equal(10, response.BytesReceived);
        Assert.Equal(4, response.Payload.Length);
    }

    [Fact]
    public async Task Bidi_PingPong_EachAnsweredInTurn()
    {
        using var call = _channel.DuplexStreamingCall(Bidi, Bounded);
        for (var i = 0; i < 3; i++)
        {
            await call.RequestStream.WriteAsync(new EchoRequest { Payload = ByteString.CopyFromUtf8($"ping {i}") }).DefaultTimeout();
            Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout());
            Assert.Equal($"ping {i}", call.ResponseStream.Current.Payload.ToStringUtf8());
            Assert.Equal(i, call.ResponseStream.Current.Index);
            Assert.Equal(i + 1, call.ResponseStream.Current.MessagesReceived);
        }
        await call.RequestStream.CompleteAsync().DefaultTimeout();

        Assert.False(await call.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout());
        Assert.Equal(StatusCode.OK, call.GetStatus().Code);
    }

    [Fact]
    public async Task EmptyStreams_NoMessages_EndOk()
    {
        using var clientStream = _channel.ClientStreamingCall(ClientStream, Bounded);
        await clientStream.RequestStream.CompleteAsync().DefaultTimeout();
        Assert.Equal(0, (await clientStream.ResponseAsync.DefaultTimeout()).MessagesReceived);

        using var serverStream = _channel.ServerStreamingCall(ServerStream, new EchoRequest { ResponseCount = 0 }, Bounded);
        Assert.Empty(await ReadAllAsync(serverStream.ResponseStream).DefaultTimeout());
        Assert.Equal(StatusCode.OK, serverStream.GetStatus().Code);
    }

    [Fact]
    public async Task ErrorStatus_UnicodeMessageAndDetails_ArriveIntact()
    {
        const string message = "bad thing: naïve ☃ 100% \n done";
        var details = new byte[] { 0, 1, 0xff };
        var request = new EchoRequest { Fail = new Failure { Code = (int)StatusCode.FailedPrecondition, Message = message, Details = ByteString.CopyFrom(details) } };

        var error = await Assert.ThrowsAsync<RpcException>(() => _channel.UnaryCall(Unary, request, Bounded).ResponseAsync).DefaultTimeout();

        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        Assert.Equal(message, error.Status.Detail);
        Assert.Equal(details, error.Trailers.GetValueBytes("grpc-status-details-bin"));
    }

    [Fact]
    public async Task ServerStream_FailAfterTwo_TwoResponsesThenNotFound()
    {
        using var call = _channel.ServerStreamingCall(ServerStream,
            new EchoRequest { ResponseCount = 2, Fail = new Failure { Code = (int)StatusCode.NotFound, Message = "gone" } }, Bounded);

        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout());
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout());
        var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None)).DefaultTimeout();
        Assert.Equal(StatusCode.NotFound, error.StatusCode);
        Assert.Equal("gone", error.Status.Detail);
    }

    [Fact]
    public async Task Deadline_ServerWaits_DeadlineExceededAndServerCancelled()
    {
        // A deadline the call can reach the server within even on a loaded machine (through a proxy
        // too): a call cancelled before it arrives is rightly not counted by the server.
        var before = await CancelledCallsAsync(0);

        var error = await Assert.ThrowsAsync<RpcException>(() =>
            _channel.UnaryCall(Unary, new EchoRequest { WaitForCancel = true }, new CallOptions { Timeout = TimeSpan.FromSeconds(1) }).ResponseAsync).DefaultTimeout();

        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
        Assert.True(await CancelledCallsAsync(before + 1) >= before + 1);
    }

    [Fact]
    public async Task CancelMidStream_ClientCancels_CancelledOnBothSides()
    {
        var before = await CancelledCallsAsync(0);
        using var cancellation = new CancellationTokenSource();
        using var call = _channel.DuplexStreamingCall(Bidi, new CallOptions { CancellationToken = cancellation.Token, Timeout = TimeSpan.FromSeconds(10) });
        await call.RequestStream.WriteAsync(new EchoRequest { Payload = ByteString.CopyFromUtf8("one") }).DefaultTimeout();
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout());

        await cancellation.CancelAsync();

        var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None)).DefaultTimeout();
        Assert.Equal(StatusCode.Cancelled, error.StatusCode);
        Assert.True(await CancelledCallsAsync(before + 1) >= before + 1);
    }

    [Fact]
    public async Task LargeMessages_JustUnder4MiB_BothWaysIntact()
    {
        var payload = RandomNumberGenerator.GetBytes(FourMiBLess64);
        var echoed = await _channel.UnaryCall(Unary, new EchoRequest { Payload = ByteString.CopyFrom(payload) }, Bounded).ResponseAsync.DefaultTimeout();
        Assert.True(echoed.Payload.Span.SequenceEqual(payload));

        var generated = await _channel.UnaryCall(Unary, new EchoRequest { ResponseSize = FourMiBLess64 }, Bounded).ResponseAsync.DefaultTimeout();
        Assert.True(generated.Payload.Span.SequenceEqual(EchoService.Pattern(FourMiBLess64).Span));
    }

    [Fact]
    public async Task Oversize_5MiBRequest_ResourceExhausted()
    {
        var request = new EchoRequest { Payload = ByteString.CopyFrom(new byte[5 * 1024 * 1024]) };

        var error = await Assert.ThrowsAsync<RpcException>(() => _channel.UnaryCall(Unary, request, Bounded).ResponseAsync).DefaultTimeout();

        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
    }

    [Fact]
    public async Task ResponseOverClientLimit_ResourceExhausted()
    {
        using var strict = GrpcChannel.ForAddress(_address, new GrpcChannelOptions { MaxReceiveMessageSize = 1024 });

        var error = await Assert.ThrowsAsync<RpcException>(() =>
            strict.UnaryCall(Unary, new EchoRequest { ResponseSize = 2048 }, Bounded).ResponseAsync).DefaultTimeout();

        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
        // 2048 payload bytes + field tags and lengths + messages_received = 2053 bytes.
        Assert.Equal("Received message larger than max (2053 vs. 1024)", error.Status.Detail);
    }

    [Fact]
    public async Task Gzip_CompressedBothWays_PayloadIntact()
    {
        using var compressing = EchoChannels.Create(_address, compress: true);
        var payload = ByteString.CopyFromUtf8(string.Concat(Enumerable.Repeat("compressible ", 8000)));

        using var call = compressing.UnaryCall(Unary, new EchoRequest { Payload = payload, CompressResponse = true }, Bounded);
        var response = await call.ResponseAsync.DefaultTimeout();

        Assert.Equal(payload, response.Payload);
    }

    [Fact]
    public async Task BinaryMetadata_AllByteValues_EchoedInHeadersAndTrailers()
    {
        var bytes = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();
        var metadata = new Metadata().Add("x-text", "hello").Add("x-data-bin", bytes);

        using var call = _channel.UnaryCall(Unary, new EchoRequest(), Bounded with { Headers = metadata });
        await call.ResponseAsync.DefaultTimeout();
        var headers = await call.ResponseHeadersAsync.DefaultTimeout();

        Assert.Equal("hello", headers.GetValue("x-text"));
        Assert.Equal(bytes, headers.GetValueBytes("x-data-bin"));
        Assert.Equal("hello", call.GetTrailers().GetValue("x-text"));
        Assert.Equal(bytes, call.GetTrailers().GetValueBytes("x-data-bin"));
    }

    [Fact]
    public async Task UnknownMethod_Unimplemented()
    {
        var missing = new Method<EchoRequest, EchoResponse>(MethodType.Unary, "esp.interop.Echo", "NoSuchMethod");

        var error = await Assert.ThrowsAsync<RpcException>(() => _channel.UnaryCall(missing, new EchoRequest(), Bounded).ResponseAsync).DefaultTimeout();

        Assert.Equal(StatusCode.Unimplemented, error.StatusCode);
    }

    [Fact]
    public async Task ManyMessages_ThousandWhileReading_AllInOrder()
    {
        using var call = _channel.DuplexStreamingCall(Bidi, Bounded);
        var reading = ReadAllAsync(call.ResponseStream);
        var payload = ByteString.CopyFrom(new byte[100]);
        for (var i = 0; i < 1000; i++)
            await call.RequestStream.WriteAsync(new EchoRequest { Payload = payload }).DefaultTimeout();
        await call.RequestStream.CompleteAsync().DefaultTimeout();

        var responses = await reading.DefaultTimeout();

        Assert.Equal(Enumerable.Range(0, 1000), responses.Select(r => r.Index));
    }

    private async Task<int> CancelledCallsAsync(int atLeast) =>
        (await _channel.UnaryCall(Observed, new ObservedRequest { MinCancelled = atLeast }, Bounded).ResponseAsync.DefaultTimeout()).Cancelled;

    private static async Task<List<EchoResponse>> ReadAllAsync(IAsyncStreamReader<EchoResponse> stream)
    {
        var list = new List<EchoResponse>();
        await foreach (var response in stream.ReadAllAsync())
            list.Add(response);
        return list;
    }

    public void Dispose()
    {
        _channel.Dispose();
        GC.SuppressFinalize(this);
    }
}

/// <summary>Our client ⇄ Python grpcio server.</summary>
public sealed class OurClientPythonServerTests(PythonEchoServerFixture server)
    : EchoClientCases(server.Address), IClassFixture<PythonEchoServerFixture>;

/// <summary>Our client ⇄ our server.</summary>
public sealed class OurClientOurServerTests(OurEchoServerFixture server)
    : EchoClientCases(server.Address), IClassFixture<OurEchoServerFixture>;
