using System.Net.Http.Headers;
using Esp.Grpc;
using Esp.Grpc.Client;
using Esp.Grpc.Server;
using Esp.Interop;
using Esp.Tests.Infrastructure;
using Google.Protobuf;
using Xunit;

namespace Esp.Tests.Grpc;

/// <summary>The server binding's call lifecycle: deadlines on an injected clock, handler failures, the context.</summary>
public sealed class ServerCallTests : IAsyncDisposable
{
    private readonly FakeTimeProvider _clock = new();
    private readonly TaskCompletionSource<ServerCallContext> _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _handlerCancelled = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly HttpClient _http = GrpcWire.CreateHttpClient();
    private TestGrpcHost? _host;

    [Fact]
    public async Task Unary_GrpcTimeoutPasses_ServerAnswersDeadlineExceededAndCancelsHandler()
    {
        var host = await StartAsync(unary: async (_, context) =>
        {
            _started.SetResult(context);
            await WaitForCancellationAsync(context);
            return new EchoResponse();
        });
        var response = SendAsync(host, timeout: "5S");
        var context = await _started.Task.DefaultTimeout();

        Assert.Equal(_clock.GetUtcNow().UtcDateTime.AddSeconds(5), context.Deadline);
        _clock.Advance(TimeSpan.FromSeconds(5));

        var raw = await response.DefaultTimeout();
        await _handlerCancelled.Task.DefaultTimeout();
        Assert.Equal("4", raw.Header("grpc-status"));
        Assert.Equal("Deadline Exceeded", raw.Header("grpc-message"));
    }

    [Fact]
    public async Task ServerStream_DeadlineAfterFirstMessage_MessageThenDeadlineExceededInTrailers()
    {
        var host = await StartAsync(serverStream: async (_, writer, context) =>
        {
            await writer.WriteAsync(new EchoResponse { Index = 7 });
            _started.SetResult(context);
            await WaitForCancellationAsync(context);
        });
        var response = SendAsync(host, timeout: "100m", path: "/esp.interop.Echo/ServerStream");
        await _started.Task.DefaultTimeout();

        _clock.Advance(TimeSpan.FromMilliseconds(100));

        var raw = await response.DefaultTimeout();
        await _handlerCancelled.Task.DefaultTimeout();
        var frames = GrpcWire.ParseFrames(raw.Body);
        Assert.Equal(7, EchoResponse.Parser.ParseFrom(Assert.Single(frames).Body).Index);
        Assert.Equal("4", raw.Trailer("grpc-status"));
    }

    [Fact]
    public async Task Unary_NoTimeout_DeadlineIsMaxValue()
    {
        var host = await StartAsync(unary: (_, context) =>
        {
            _started.SetResult(context);
            return Task.FromResult(new EchoResponse());
        });

        var raw = await SendAsync(host, timeout: null).DefaultTimeout();

        Assert.Equal("0", raw.Trailer("grpc-status"));
        Assert.Equal(DateTime.MaxValue, (await _started.Task.DefaultTimeout()).Deadline);
    }

    [Fact]
    public async Task Unary_HandlerThrows_UnknownWithoutTheExceptionText()
    {
        var host = await StartAsync(unary: (_, _) => throw new InvalidOperationException("connection string: password=hunter2"));

        var raw = await SendAsync(host, timeout: null).DefaultTimeout();

        Assert.Equal("2", raw.Header("grpc-status"));
        Assert.Equal("Exception was thrown by handler.", raw.Header("grpc-message"));
        Assert.DoesNotContain("hunter2", string.Join(" ", raw.Headers.Values), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Context_RequestHeadersFirstReadAfterTheCallEnded_ClearError()
    {
        var host = await StartAsync(unary: (_, context) =>
        {
            _started.SetResult(context);
            return Task.FromResult(new EchoResponse());
        });
        using var channel = GrpcChannel.ForAddress(host.Address);

        using var call = channel.UnaryCall(GrpcWire.UnaryMethod, new EchoRequest(), new CallOptions { Timeout = TimeSpan.FromSeconds(10) });
        await call.ResponseAsync.DefaultTimeout();
        var context = await _started.Task.DefaultTimeout();

        var error = Assert.Throws<InvalidOperationException>(() => context.RequestHeaders);
        Assert.Equal("The call /esp.interop.Echo/Unary has ended: read its RequestHeaders while it runs.", error.Message);
    }

    [Fact]
    public async Task Context_RequestMetadataPeerAndHeaders_VisibleToHandler()
    {
        var host = await StartAsync(unary: async (_, context) =>
        {
            await context.WriteResponseHeadersAsync(new Metadata().Add("x-early", "yes"));
            context.ResponseTrailers.Add("x-late", "done");
            Assert.NotEmpty(context.RequestHeaders); // read while the call runs
            _started.SetResult(context);
            return new EchoResponse();
        });
        using var channel = GrpcChannel.ForAddress(host.Address);

        using var call = channel.UnaryCall(GrpcWire.UnaryMethod, new EchoRequest(),
            new CallOptions { Headers = new Metadata().Add("x-who", "tester").Add("x-raw-bin", [1, 2, 3]), Timeout = TimeSpan.FromSeconds(10) });
        await call.ResponseAsync.DefaultTimeout();
        var context = await _started.Task.DefaultTimeout();

        Assert.Equal("tester", context.RequestHeaders.GetValue("x-who"));
        Assert.Equal(new byte[] { 1, 2, 3 }, context.RequestHeaders.GetValueBytes("x-raw-bin"));
        Assert.DoesNotContain(context.RequestHeaders, e => e.Key is "content-type" or "te" or "grpc-timeout");
        Assert.StartsWith("ipv4:127.0.0.1:", context.Peer, StringComparison.Ordinal);
        Assert.Equal("/esp.interop.Echo/Unary", context.Method);
        Assert.Equal("yes", (await call.ResponseHeadersAsync.DefaultTimeout()).GetValue("x-early"));
        Assert.Equal("done", call.GetTrailers().GetValue("x-late"));
    }

    private async Task WaitForCancellationAsync(ServerCallContext context)
    {
        try
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, context.CancellationToken);
        }
        catch (OperationCanceledException)
        {
            _handlerCancelled.SetResult();
            throw;
        }
    }

    private async Task<TestGrpcHost> StartAsync(
        UnaryServerMethod<EchoRequest, EchoResponse>? unary = null,
        ServerStreamingServerMethod<EchoRequest, EchoResponse>? serverStream = null)
    {
        var builder = GrpcServiceDefinition.CreateBuilder(GrpcWire.EchoDescriptor);
        if (unary is not null)
            builder.AddUnary("Unary", unary);
        if (serverStream is not null)
            builder.AddServerStreaming("ServerStream", serverStream);
        _host = await TestGrpcHost.StartAsync([builder.Build()], new GrpcServerOptions { TimeProvider = _clock });
        return _host;
    }

    private Task<RawResponse> SendAsync(TestGrpcHost host, string? timeout, string path = "/esp.interop.Echo/Unary")
    {
        var request = GrpcWire.Post(host.Address, path, GrpcWire.Frame(new EchoRequest()));
        if (timeout is not null)
            request.Headers.TryAddWithoutValidation("grpc-timeout", timeout);
        return GrpcWire.SendAsync(_http, request);
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        if (_host is not null)
            await _host.DisposeAsync();
    }
}
