using System.Net;
using System.Net.Sockets;
using Esp.Grpc;
using Esp.Grpc.Client;
using Esp.Interop;
using Esp.Tests.Infrastructure;
using Esp.Tests.Interop;
using Google.Protobuf;
using Microsoft.AspNetCore.Http;
using Xunit;

namespace Esp.Tests.Grpc;

/// <summary>Our client against servers that answer raw HTTP/2: whatever they send, the call ends with one well-defined status.</summary>
public class ClientWireTests
{
    private static readonly EchoRequest Hello = new() { Payload = ByteString.CopyFromUtf8("hello") };
    private static readonly EchoResponse Reply = new() { Payload = ByteString.CopyFromUtf8("reply") };

    [Fact]
    public async Task Unary_RawServerAnsweringCorrectly_Succeeds()
    {
        await using var server = await RawHttp2Server.StartAsync(async context =>
        {
            await RawHttp2Server.StartGrpcResponseAsync(context);
            await RawHttp2Server.WriteAsync(context, GrpcWire.Frame(Reply));
            context.Response.AppendTrailer("grpc-status", "0");
        });
        using var channel = GrpcChannel.ForAddress(server.Address);

        using var call = channel.UnaryCall(GrpcWire.UnaryMethod, Hello);
        var response = await call.ResponseAsync.DefaultTimeout();

        Assert.Equal(Reply, response);
        Assert.Equal(Status.DefaultSuccess, call.GetStatus());
    }

    [Theory]
    [InlineData(400, StatusCode.Internal)]
    [InlineData(401, StatusCode.Unauthenticated)]
    [InlineData(403, StatusCode.PermissionDenied)]
    [InlineData(404, StatusCode.Unimplemented)]
    [InlineData(429, StatusCode.Unavailable)]
    [InlineData(500, StatusCode.Unknown)]
    [InlineData(502, StatusCode.Unavailable)]
    [InlineData(503, StatusCode.Unavailable)]
    [InlineData(504, StatusCode.Unavailable)]
    public async Task Unary_NonOkHttpStatusWithoutGrpcStatus_MappedStatus(int httpStatus, StatusCode expected)
    {
        await using var server = await RawHttp2Server.StartAsync(context =>
        {
            context.Response.StatusCode = httpStatus;
            return Task.CompletedTask;
        });

        var status = await CallAsync(server.Address);

        Assert.Equal(new Status(expected, $"Bad gRPC response. HTTP status code: {httpStatus}"), status);
    }

    [Fact]
    public async Task Unary_NonOkHttpStatusWithGrpcStatus_GrpcStatusWins()
    {
        await using var server = await RawHttp2Server.StartAsync(context =>
        {
            context.Response.StatusCode = 503;
            context.Response.Headers["grpc-status"] = "8";
            context.Response.Headers["grpc-message"] = "slow%20down";
            return Task.CompletedTask;
        });

        var status = await CallAsync(server.Address);

        Assert.Equal(new Status(StatusCode.ResourceExhausted, "slow down"), status);
    }

    [Fact]
    public async Task Unary_OkWithoutGrpcStatusOrBody_Unknown()
    {
        await using var server = await RawHttp2Server.StartAsync(context =>
        {
            context.Response.ContentType = "application/grpc";
            return Task.CompletedTask;
        });

        var status = await CallAsync(server.Address);

        Assert.Equal(new Status(StatusCode.Unknown, "The response ended without a grpc-status trailer."), status);
    }

    [Fact]
    public async Task Unary_MessageButNoGrpcStatusTrailer_Unknown()
    {
        await using var server = await RawHttp2Server.StartAsync(async context =>
        {
            await RawHttp2Server.StartGrpcResponseAsync(context);
            await RawHttp2Server.WriteAsync(context, GrpcWire.Frame(Reply));
        });

        var status = await CallAsync(server.Address);

        Assert.Equal(new Status(StatusCode.Unknown, "The response ended without a grpc-status trailer."), status);
    }

    [Theory]
    [InlineData("text/html; charset=utf-8")]
    [InlineData("application/json")]
    [InlineData("application/grpc-web")]
    public async Task Unary_OkWithNonGrpcContentType_UnknownNamingTheContentType(string contentType)
    {
        await using var server = await RawHttp2Server.StartAsync(async context =>
        {
            context.Response.ContentType = contentType;
            await context.Response.WriteAsync("<html>not gRPC</html>");
        });

        var status = await CallAsync(server.Address);

        Assert.Equal(new Status(StatusCode.Unknown, $"Bad gRPC response. Invalid content-type value: {contentType}"), status);
    }

    [Fact]
    public async Task Unary_OkWithoutContentType_Unknown()
    {
        await using var server = await RawHttp2Server.StartAsync(_ => Task.CompletedTask);

        var status = await CallAsync(server.Address);

        Assert.Equal(new Status(StatusCode.Unknown, "Bad gRPC response. Invalid content-type value: (none)"), status);
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("-1")]
    [InlineData("1.0")]
    [InlineData("0x0")]
    public async Task Unary_InvalidGrpcStatusInTrailersOnly_Unknown(string value)
    {
        await using var server = await RawHttp2Server.StartAsync(context =>
        {
            context.Response.ContentType = "application/grpc";
            context.Response.Headers["grpc-status"] = value;
            return Task.CompletedTask;
        });

        var status = await CallAsync(server.Address);

        Assert.Equal(new Status(StatusCode.Unknown, $"The server sent an invalid grpc-status '{value}'."), status);
    }

    [Fact]
    public async Task Unary_InvalidGrpcStatusInTrailers_Unknown()
    {
        await using var server = await RawHttp2Server.StartAsync(async context =>
        {
            await RawHttp2Server.StartGrpcResponseAsync(context);
            await RawHttp2Server.WriteAsync(context, GrpcWire.Frame(Reply));
            context.Response.AppendTrailer("grpc-status", "abc");
        });

        var status = await CallAsync(server.Address);

        Assert.Equal(new Status(StatusCode.Unknown, "The server sent an invalid grpc-status 'abc'."), status);
    }

    [Fact]
    public async Task Unary_GrpcStatusOutsideTheDefinedRange_Unknown()
    {
        await using var server = await RawHttp2Server.StartAsync(context =>
        {
            context.Response.ContentType = "application/grpc";
            context.Response.Headers["grpc-status"] = "42";
            context.Response.Headers["grpc-message"] = "from the future";
            return Task.CompletedTask;
        });

        var status = await CallAsync(server.Address);

        Assert.Equal(new Status(StatusCode.Unknown, "from the future"), status);
    }

    [Fact]
    public async Task Unary_TrailersOnlyWithMetadata_StatusAndMetadataInHeadersAndTrailers()
    {
        await using var server = await RawHttp2Server.StartAsync(context =>
        {
            context.Response.ContentType = "application/grpc";
            context.Response.Headers["grpc-status"] = "7";
            context.Response.Headers["grpc-message"] = "access%20denied%3A%20%C3%A9";
            context.Response.Headers["x-reason"] = "quota";
            context.Response.Headers["x-data-bin"] = "AQI";
            return Task.CompletedTask;
        });
        using var channel = GrpcChannel.ForAddress(server.Address);

        using var call = channel.UnaryCall(GrpcWire.UnaryMethod, Hello);
        var ex = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync.DefaultTimeout());

        Assert.Equal(new Status(StatusCode.PermissionDenied, "access denied: é"), ex.Status);
        Assert.Equal("quota", ex.Trailers.GetValue("x-reason"));
        Assert.Equal([1, 2], ex.Trailers.GetValueBytes("x-data-bin"));
        Assert.DoesNotContain(ex.Trailers, e => e.Key.StartsWith("grpc-", StringComparison.Ordinal) || e.Key == "content-type");
        var headers = await call.ResponseHeadersAsync.DefaultTimeout();
        Assert.Equal("quota", headers.GetValue("x-reason"));
        Assert.Equal(ex.Status, call.GetStatus());
        Assert.Equal("quota", call.GetTrailers().GetValue("x-reason"));
    }

    [Fact]
    public async Task Unary_ErrorInTrailersAfterHeaders_StatusWithHeadersAndTrailersApart()
    {
        await using var server = await RawHttp2Server.StartAsync(async context =>
        {
            context.Response.Headers["x-header"] = "h";
            await RawHttp2Server.StartGrpcResponseAsync(context);
            context.Response.AppendTrailer("grpc-status", "5");
            context.Response.AppendTrailer("grpc-message", "no such book");
            context.Response.AppendTrailer("x-trailer", "t");
        });
        using var channel = GrpcChannel.ForAddress(server.Address);

        using var call = channel.UnaryCall(GrpcWire.UnaryMethod, Hello);
        var ex = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync.DefaultTimeout());

        Assert.Equal(new Status(StatusCode.NotFound, "no such book"), ex.Status);
        Assert.Equal("t", ex.Trailers.GetValue("x-trailer"));
        Assert.Null(ex.Trailers.GetValue("x-header"));
        var headers = await call.ResponseHeadersAsync.DefaultTimeout();
        Assert.Equal("h", headers.GetValue("x-header"));
    }

    [Fact]
    public async Task Unary_ResponseOverChannelLimit_ResourceExhausted()
    {
        await using var host = await StartEchoHostAsync();
        using var channel = GrpcChannel.ForAddress(host.Address, new GrpcChannelOptions { MaxReceiveMessageSize = 1000 });

        var ex = await Assert.ThrowsAsync<RpcException>(() =>
            channel.UnaryCall(GrpcWire.UnaryMethod, new EchoRequest { ResponseSize = 2000 }).ResponseAsync.DefaultTimeout());

        var size = new EchoResponse { Payload = EchoService.Pattern(2000), MessagesReceived = 1 }.CalculateSize();
        Assert.Equal(new Status(StatusCode.ResourceExhausted, $"Received message larger than max ({size} vs. 1000)"), ex.Status);
    }

    [Fact]
    public async Task Unary_CompressedResponseInflatingOverChannelLimit_ResourceExhausted()
    {
        await using var host = await StartEchoHostAsync();
        using var channel = GrpcChannel.ForAddress(host.Address, new GrpcChannelOptions { MaxReceiveMessageSize = 1000 });

        var ex = await Assert.ThrowsAsync<RpcException>(() =>
            channel.UnaryCall(GrpcWire.UnaryMethod, new EchoRequest { ResponseSize = 100_000, CompressResponse = true }).ResponseAsync.DefaultTimeout());

        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
        Assert.StartsWith("Received message larger than max (", ex.Status.Detail, StringComparison.Ordinal);
        Assert.EndsWith(" vs. 1000)", ex.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unary_ResponseLengthOverLimitAndBodyNeverComes_ResourceExhaustedAtOnce()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await RawHttp2Server.StartAsync(async context =>
        {
            await RawHttp2Server.StartGrpcResponseAsync(context);
            await RawHttp2Server.WriteAsync(context, GrpcWire.Header(0, 1_000_000));
            await release.Task.WaitAsync(context.RequestAborted);
        });
        using var channel = GrpcChannel.ForAddress(server.Address, new GrpcChannelOptions { MaxReceiveMessageSize = 1000 });

        try
        {
            var status = await CallAsync(channel);

            Assert.Equal(new Status(StatusCode.ResourceExhausted, "Received message larger than max (1000000 vs. 1000)"), status);
        }
        finally
        {
            release.TrySetResult();
        }
    }

    [Fact]
    public async Task Unary_ResponseBodyEndsInsideMessage_Internal()
    {
        await using var server = await RawHttp2Server.StartAsync(async context =>
        {
            await RawHttp2Server.StartGrpcResponseAsync(context);
            await RawHttp2Server.WriteAsync(context, GrpcWire.Header(0, 10, [1, 2, 3]));
            context.Response.AppendTrailer("grpc-status", "0");
        });

        var status = await CallAsync(server.Address);

        Assert.Equal(new Status(StatusCode.Internal, "Incomplete message: the stream ended inside a message frame."), status);
    }

    [Fact]
    public async Task Unary_ResponseCompressedFlagWithoutEncoding_Internal()
    {
        await using var server = await RawHttp2Server.StartAsync(async context =>
        {
            await RawHttp2Server.StartGrpcResponseAsync(context);
            await RawHttp2Server.WriteAsync(context, GrpcWire.Frame(GrpcWire.Gzip(Reply.ToByteArray()), flag: 1));
            context.Response.AppendTrailer("grpc-status", "0");
        });

        var status = await CallAsync(server.Address);

        Assert.Equal(new Status(StatusCode.Internal, "A message has the compressed flag set but the call's grpc-encoding is identity or absent."), status);
    }

    [Fact]
    public async Task Unary_ResponseWithUnsupportedEncoding_Internal()
    {
        await using var server = await RawHttp2Server.StartAsync(async context =>
        {
            context.Response.Headers["grpc-encoding"] = "br";
            await RawHttp2Server.StartGrpcResponseAsync(context);
            await RawHttp2Server.WriteAsync(context, GrpcWire.Frame([1, 2, 3], flag: 1));
            context.Response.AppendTrailer("grpc-status", "0");
        });

        var status = await CallAsync(server.Address);

        Assert.Equal(new Status(StatusCode.Internal, "The server used an unsupported grpc-encoding 'br'."), status);
    }

    [Fact]
    public async Task Unary_TwoResponseMessages_Internal()
    {
        await using var server = await RawHttp2Server.StartAsync(async context =>
        {
            await RawHttp2Server.StartGrpcResponseAsync(context);
            await RawHttp2Server.WriteAsync(context, [.. GrpcWire.Frame(Reply), .. GrpcWire.Frame(Reply)]);
            context.Response.AppendTrailer("grpc-status", "0");
        });

        var status = await CallAsync(server.Address);

        Assert.Equal(new Status(StatusCode.Internal, "The server sent more than one response message to a call that takes one."), status);
    }

    [Fact]
    public async Task Unary_OkWithoutResponseMessage_Internal()
    {
        await using var server = await RawHttp2Server.StartAsync(async context =>
        {
            await RawHttp2Server.StartGrpcResponseAsync(context);
            context.Response.AppendTrailer("grpc-status", "0");
        });

        var status = await CallAsync(server.Address);

        Assert.Equal(new Status(StatusCode.Internal, "The server ended the call with OK but sent no response message."), status);
    }

    [Fact]
    public async Task Unary_ServerAbortsStreamMidResponse_InternalFromRstStream()
    {
        await using var server = await RawHttp2Server.StartAsync(async context =>
        {
            await RawHttp2Server.StartGrpcResponseAsync(context);
            await RawHttp2Server.WriteAsync(context, GrpcWire.Header(0, 100, [1, 2, 3]));
            // Kestrel resets the stream with RST_STREAM(INTERNAL_ERROR); the spec maps it to INTERNAL.
            context.Abort();
        });

        var status = await CallAsync(server.Address);

        // The reset can overtake the headers on the client side, so where it is noticed varies.
        Assert.Equal(StatusCode.Internal, status.Code);
        Assert.EndsWith("the HTTP/2 stream was reset (INTERNAL_ERROR).", status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ServerStreaming_ServerAbortsAfterFirstMessage_FirstMessageThenInternal()
    {
        var aborted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await RawHttp2Server.StartAsync(async context =>
        {
            await RawHttp2Server.StartGrpcResponseAsync(context);
            await RawHttp2Server.WriteAsync(context, GrpcWire.Frame(Reply));
            await aborted.Task.WaitAsync(context.RequestAborted);
            context.Abort();
        });
        using var channel = GrpcChannel.ForAddress(server.Address);

        using var call = channel.ServerStreamingCall(GrpcWire.ServerStreamMethod, Hello);
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout());
        Assert.Equal(Reply, call.ResponseStream.Current);
        aborted.SetResult();
        var ex = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout());

        Assert.Equal(StatusCode.Internal, ex.StatusCode);
        Assert.EndsWith("the HTTP/2 stream was reset (INTERNAL_ERROR).", ex.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unary_ServerAbortsBeforeResponseHeaders_InternalFromRstStream()
    {
        await using var server = await RawHttp2Server.StartAsync(context =>
        {
            context.Abort();
            return Task.CompletedTask;
        });

        var status = await CallAsync(server.Address);

        Assert.Equal(new Status(StatusCode.Internal, "Error starting gRPC call: the HTTP/2 stream was reset (INTERNAL_ERROR)."), status);
    }

    [Fact]
    public async Task Unary_ConnectionRefused_Unavailable()
    {
        // Bound but not listening: a connection attempt is refused, and no one else can take the port meanwhile.
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var address = new Uri($"http://127.0.0.1:{((IPEndPoint)socket.LocalEndPoint!).Port}");

        var status = await CallAsync(address);

        Assert.Equal(StatusCode.Unavailable, status.Code);
        Assert.StartsWith("Error starting gRPC call: ", status.Detail, StringComparison.Ordinal);
    }

    public static TheoryData<string> PastDeadlines => new() { "deadline in the past", "zero timeout", "negative timeout" };

    [Theory]
    [MemberData(nameof(PastDeadlines))]
    public async Task Unary_DeadlineAlreadyPassed_DeadlineExceededWithoutSendingARequest(string deadline)
    {
        using var handler = new RecordingHandler();
        using var channel = GrpcChannel.ForAddress("http://127.0.0.1:1", new GrpcChannelOptions { HttpHandler = handler });
        var options = deadline switch
        {
            "deadline in the past" => new CallOptions { Deadline = DateTime.UtcNow.AddMinutes(-1) },
            "zero timeout" => new CallOptions { Timeout = TimeSpan.Zero },
            _ => new CallOptions { Timeout = TimeSpan.FromSeconds(-1) },
        };

        using var call = channel.UnaryCall(GrpcWire.UnaryMethod, Hello, options);
        var ex = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync.DefaultTimeout());

        Assert.Equal(new Status(StatusCode.DeadlineExceeded, "Deadline Exceeded"), ex.Status);
        Assert.Equal(ex.Status, call.GetStatus());
        await Assert.ThrowsAsync<RpcException>(() => call.ResponseHeadersAsync.DefaultTimeout());
        Assert.Equal(0, handler.Requests);
    }

    [Fact]
    public async Task ServerStreaming_DeadlineAlreadyPassed_DeadlineExceededWithoutSendingARequest()
    {
        using var handler = new RecordingHandler();
        using var channel = GrpcChannel.ForAddress("http://127.0.0.1:1", new GrpcChannelOptions { HttpHandler = handler });

        using var call = channel.ServerStreamingCall(GrpcWire.ServerStreamMethod, Hello, new CallOptions { Deadline = DateTime.UtcNow.AddSeconds(-1) });
        var ex = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout());

        Assert.Equal(StatusCode.DeadlineExceeded, ex.StatusCode);
        Assert.Equal(0, handler.Requests);
    }

    public static TheoryData<TimeSpan, string> Timeouts => new()
    {
        { TimeSpan.FromMinutes(5), "300000m" },
        { TimeSpan.FromHours(1), "3600000m" },
        { TimeSpan.MaxValue, "99999999H" },
    };

    [Theory]
    [MemberData(nameof(Timeouts))]
    public async Task Unary_Timeout_SentAsGrpcTimeoutHeader(TimeSpan timeout, string expected)
    {
        string? sent = null;
        await using var server = await RawHttp2Server.StartAsync(async context =>
        {
            sent = context.Request.Headers["grpc-timeout"];
            await RawHttp2Server.StartGrpcResponseAsync(context);
            await RawHttp2Server.WriteAsync(context, GrpcWire.Frame(Reply));
            context.Response.AppendTrailer("grpc-status", "0");
        });
        using var channel = GrpcChannel.ForAddress(server.Address);

        await channel.UnaryCall(GrpcWire.UnaryMethod, Hello, new CallOptions { Timeout = timeout }).ResponseAsync.DefaultTimeout();

        Assert.Equal(expected, sent);
    }

    private static Task<TestGrpcHost> StartEchoHostAsync() =>
        TestGrpcHost.StartAsync([new EchoService().CreateDefinition()]).DefaultTimeout();

    /// <summary>Makes one unary call, which must fail, and returns its status.</summary>
    private static async Task<Status> CallAsync(Uri address)
    {
        using var channel = GrpcChannel.ForAddress(address);
        return await CallAsync(channel);
    }

    private static async Task<Status> CallAsync(GrpcChannel channel)
    {
        using var call = channel.UnaryCall(GrpcWire.UnaryMethod, Hello);
        var ex = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync.DefaultTimeout());
        Assert.Equal(ex.Status, call.GetStatus());
        return ex.Status;
    }

    /// <summary>Counts requests that reach the transport, and fails them.</summary>
    private sealed class RecordingHandler : HttpMessageHandler
    {
        private int _requests;

        public int Requests => Volatile.Read(ref _requests);

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _requests);
            throw new HttpRequestException("The test handler accepts no requests.");
        }
    }
}
