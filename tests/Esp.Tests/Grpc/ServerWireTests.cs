using System.Net;
using Esp.Grpc;
using Esp.Grpc.Client;
using Esp.Grpc.Protocol;
using Esp.Grpc.Server;
using Esp.Interop;
using Esp.Tests.Infrastructure;
using Esp.Tests.Interop;
using Google.Protobuf;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Xunit;

namespace Esp.Tests.Grpc;

/// <summary>Our server binding seen from the wire: requests built byte by byte, responses read raw.</summary>
public class ServerWireTests
{
    private static readonly EchoRequest Hello = new() { Payload = ByteString.CopyFromUtf8("hello") };

    [Fact]
    public async Task Unary_WellFormedRequest_MessageThenOkInTrailers()
    {
        await using var host = await StartAsync();
        using var client = GrpcWire.CreateHttpClient();

        var response = await GrpcWire.SendAsync(client, GrpcWire.Post(host.Address, GrpcWire.UnaryPath, GrpcWire.Frame(Hello)));

        Assert.Equal(200, response.HttpStatus);
        Assert.Equal("application/grpc", response.Header("content-type"));
        Assert.Equal("identity,gzip", response.Header("grpc-accept-encoding"));
        Assert.Null(response.Header("grpc-status"));
        Assert.Equal("0", response.Trailer("grpc-status"));
        Assert.Null(response.Trailer("grpc-message"));
        var (flag, body) = Assert.Single(GrpcWire.ParseFrames(response.Body));
        Assert.Equal(0, flag);
        Assert.Equal(Hello.Payload, EchoResponse.Parser.ParseFrom(body).Payload);
    }

    [Theory]
    [InlineData("application/json")]
    [InlineData("application/grpc-web")]
    [InlineData("text/plain")]
    public async Task Unary_WrongContentType_415WithGrpcStatus(string contentType)
    {
        await using var host = await StartAsync();
        using var client = GrpcWire.CreateHttpClient();

        var response = await GrpcWire.SendAsync(client, GrpcWire.Post(host.Address, GrpcWire.UnaryPath, new ByteArrayContent(GrpcWire.Frame(Hello)), contentType));

        Assert.Equal(415, response.HttpStatus);
        Assert.Equal("13", response.Header("grpc-status"));
        Assert.Equal($"Content-Type '{contentType}' is not supported: gRPC requires application/grpc.", PercentEncoding.Decode(response.Header("grpc-message")!));
    }

    [Fact]
    public async Task Unary_Http11Request_426WithGrpcStatus()
    {
        await using var host = await StartAsync(protocols: HttpProtocols.Http1AndHttp2);
        using var client = GrpcWire.CreateHttpClient();
        var request = GrpcWire.Post(host.Address, GrpcWire.UnaryPath, GrpcWire.Frame(Hello));
        request.Version = HttpVersion.Version11;

        var response = await GrpcWire.SendAsync(client, request);

        Assert.Equal(426, response.HttpStatus);
        Assert.Equal("13", response.Header("grpc-status"));
        Assert.Equal("gRPC requires HTTP/2, but this request came over HTTP/1.1.", PercentEncoding.Decode(response.Header("grpc-message")!));
    }

    [Fact]
    public async Task Unary_GetRequest_405WithGrpcStatus()
    {
        await using var host = await StartAsync();
        using var client = GrpcWire.CreateHttpClient();
        var request = new HttpRequestMessage(HttpMethod.Get, new Uri(host.Address, GrpcWire.UnaryPath))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };

        var response = await GrpcWire.SendAsync(client, request);

        Assert.Equal(405, response.HttpStatus);
        Assert.Equal("13", response.Header("grpc-status"));
        Assert.Equal("gRPC requires POST, but this request is GET.", PercentEncoding.Decode(response.Header("grpc-message")!));
    }

    [Theory]
    [InlineData("/esp.interop.Echo/Nope")]
    [InlineData("/esp.interop.Nothing/Unary")]
    [InlineData("/esp.interop.echo/unary")]
    public async Task Call_UnknownMethod_TrailersOnlyUnimplemented(string path)
    {
        await using var host = await StartAsync();
        using var client = GrpcWire.CreateHttpClient();

        var response = await GrpcWire.SendAsync(client, GrpcWire.Post(host.Address, path, GrpcWire.Frame(Hello)));

        AssertTrailersOnly(response, StatusCode.Unimplemented, $"Method not found: {path}");
    }

    [Fact]
    public async Task Unary_UnsupportedGrpcEncoding_UnimplementedListingAcceptedEncodings()
    {
        await using var host = await StartAsync();
        using var client = GrpcWire.CreateHttpClient();
        var request = GrpcWire.Post(host.Address, GrpcWire.UnaryPath, GrpcWire.Frame([1, 2, 3], flag: 1));
        request.Headers.TryAddWithoutValidation("grpc-encoding", "deflate");

        var response = await GrpcWire.SendAsync(client, request);

        AssertTrailersOnly(response, StatusCode.Unimplemented, "Unsupported grpc-encoding 'deflate'. Supported encodings: identity,gzip.");
        Assert.Equal("identity,gzip", response.Header("grpc-accept-encoding"));
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("123456789S")]
    [InlineData("10")]
    [InlineData("-1S")]
    [InlineData("1s")]
    public async Task Unary_InvalidGrpcTimeout_Internal(string timeout)
    {
        await using var host = await StartAsync();
        using var client = GrpcWire.CreateHttpClient();
        var request = GrpcWire.Post(host.Address, GrpcWire.UnaryPath, GrpcWire.Frame(Hello));
        request.Headers.TryAddWithoutValidation("grpc-timeout", timeout);

        var response = await GrpcWire.SendAsync(client, request);

        AssertTrailersOnly(response, StatusCode.Internal,
            $"Invalid grpc-timeout '{timeout}': expected 1-8 digits and a unit (H, M, S, m, u, n).");
    }

    [Fact]
    public async Task Unary_RequestBodyOneBytePerWrite_Succeeds()
    {
        await using var host = await StartAsync();
        using var client = GrpcWire.CreateHttpClient();
        var message = new EchoRequest { Payload = EchoService.Pattern(300) };

        var response = await GrpcWire.SendAsync(client, GrpcWire.Post(host.Address, GrpcWire.UnaryPath, new TricklingContent(GrpcWire.Frame(message))));

        Assert.Equal("0", response.Trailer("grpc-status"));
        var (_, body) = Assert.Single(GrpcWire.ParseFrames(response.Body));
        Assert.Equal(message.Payload, EchoResponse.Parser.ParseFrom(body).Payload);
    }

    [Fact]
    public async Task Unary_RequestOverServerLimit_ResourceExhausted()
    {
        await using var host = await StartAsync(new GrpcServerOptions { MaxReceiveMessageSize = 100 });
        using var client = GrpcWire.CreateHttpClient();
        var message = new EchoRequest { Payload = EchoService.Pattern(200) };

        var response = await GrpcWire.SendAsync(client, GrpcWire.Post(host.Address, GrpcWire.UnaryPath, GrpcWire.Frame(message)));

        AssertTrailersOnly(response, StatusCode.ResourceExhausted, "Received message larger than max (203 vs. 100)");
    }

    [Fact]
    public async Task Unary_HeaderClaimsHugeMessageAndBodyNeverComes_ResourceExhaustedAtOnce()
    {
        await using var host = await StartAsync();
        using var client = GrpcWire.CreateHttpClient();
        using var release = new CancellationTokenSource();
        var content = new EndlessContent(GrpcWire.Header(0, int.MaxValue), release.Token);

        var response = await GrpcWire.SendAsync(client, GrpcWire.Post(host.Address, GrpcWire.UnaryPath, content));
        await release.CancelAsync().DefaultTimeout();

        AssertTrailersOnly(response, StatusCode.ResourceExhausted, "Received message larger than max (2147483647 vs. 4194304)");
    }

    [Fact]
    public async Task Unary_RequestBodyEndsInsideMessage_Internal()
    {
        await using var host = await StartAsync();
        using var client = GrpcWire.CreateHttpClient();

        var response = await GrpcWire.SendAsync(client, GrpcWire.Post(host.Address, GrpcWire.UnaryPath, GrpcWire.Header(0, 10, [1, 2, 3])));

        AssertTrailersOnly(response, StatusCode.Internal, "Incomplete message: the stream ended inside a message frame.");
    }

    [Fact]
    public async Task Unary_RequestBodyEndsInsideHeader_Internal()
    {
        await using var host = await StartAsync();
        using var client = GrpcWire.CreateHttpClient();

        var response = await GrpcWire.SendAsync(client, GrpcWire.Post(host.Address, GrpcWire.UnaryPath, new byte[] { 0, 0, 0 }));

        AssertTrailersOnly(response, StatusCode.Internal, "Incomplete message: the stream ended inside a message frame.");
    }

    [Fact]
    public async Task Unary_TwoRequestMessages_Unimplemented()
    {
        await using var host = await StartAsync();
        using var client = GrpcWire.CreateHttpClient();
        byte[] body = [.. GrpcWire.Frame(Hello), .. GrpcWire.Frame(Hello)];

        var response = await GrpcWire.SendAsync(client, GrpcWire.Post(host.Address, GrpcWire.UnaryPath, body));

        AssertTrailersOnly(response, StatusCode.Unimplemented, "The request carried more than one message; a unary request carries exactly one.");
    }

    [Fact]
    public async Task Unary_NoRequestMessage_Unimplemented()
    {
        await using var host = await StartAsync();
        using var client = GrpcWire.CreateHttpClient();

        var response = await GrpcWire.SendAsync(client, GrpcWire.Post(host.Address, GrpcWire.UnaryPath, Array.Empty<byte>()));

        AssertTrailersOnly(response, StatusCode.Unimplemented, "The request ended without a message; a unary request carries exactly one.");
    }

    [Fact]
    public async Task Unary_GzipRequest_Succeeds()
    {
        await using var host = await StartAsync();
        using var client = GrpcWire.CreateHttpClient();
        var request = GrpcWire.Post(host.Address, GrpcWire.UnaryPath, GrpcWire.Frame(GrpcWire.Gzip(Hello.ToByteArray()), flag: 1));
        request.Headers.TryAddWithoutValidation("grpc-encoding", "gzip");

        var response = await GrpcWire.SendAsync(client, request);

        Assert.Equal("0", response.Trailer("grpc-status"));
        var (_, body) = Assert.Single(GrpcWire.ParseFrames(response.Body));
        Assert.Equal(Hello.Payload, EchoResponse.Parser.ParseFrom(body).Payload);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("identity")]
    public async Task Unary_CompressedFlagWithoutGzipEncoding_Internal(string? encoding)
    {
        await using var host = await StartAsync();
        using var client = GrpcWire.CreateHttpClient();
        var request = GrpcWire.Post(host.Address, GrpcWire.UnaryPath, GrpcWire.Frame(GrpcWire.Gzip(Hello.ToByteArray()), flag: 1));
        if (encoding is not null)
            request.Headers.TryAddWithoutValidation("grpc-encoding", encoding);

        var response = await GrpcWire.SendAsync(client, request);

        AssertTrailersOnly(response, StatusCode.Internal, "A message has the compressed flag set but the call's grpc-encoding is identity or absent.");
    }

    [Fact]
    public async Task Unary_CorruptGzipMessage_Internal()
    {
        await using var host = await StartAsync();
        using var client = GrpcWire.CreateHttpClient();
        var request = GrpcWire.Post(host.Address, GrpcWire.UnaryPath, GrpcWire.Frame("not gzip at all"u8, flag: 1));
        request.Headers.TryAddWithoutValidation("grpc-encoding", "gzip");

        var response = await GrpcWire.SendAsync(client, request);

        var status = AssertTrailersOnly(response, StatusCode.Internal);
        Assert.StartsWith("Failed to decompress a gzip message: ", status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unary_GzipBombUnderTheWireLimit_ResourceExhausted()
    {
        await using var host = await StartAsync(new GrpcServerOptions { MaxReceiveMessageSize = 64 * 1024 });
        using var client = GrpcWire.CreateHttpClient();
        var bomb = new EchoRequest { Payload = ByteString.CopyFrom(new byte[1024 * 1024]) };
        var request = GrpcWire.Post(host.Address, GrpcWire.UnaryPath, GrpcWire.Frame(GrpcWire.Gzip(bomb.ToByteArray()), flag: 1));
        request.Headers.TryAddWithoutValidation("grpc-encoding", "gzip");

        var response = await GrpcWire.SendAsync(client, request);

        var status = AssertTrailersOnly(response, StatusCode.ResourceExhausted);
        Assert.StartsWith("Received message larger than max (", status.Detail, StringComparison.Ordinal);
        Assert.EndsWith(" vs. 65536)", status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unary_BodyNotAProtobufMessage_Internal()
    {
        await using var host = await StartAsync();
        using var client = GrpcWire.CreateHttpClient();

        var response = await GrpcWire.SendAsync(client, GrpcWire.Post(host.Address, GrpcWire.UnaryPath, GrpcWire.Frame([0x0A, 0x05])));

        var status = AssertTrailersOnly(response, StatusCode.Internal);
        Assert.StartsWith("Failed to parse a message: ", status.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("!!!!")]
    [InlineData("A")]
    [InlineData("AQI,*")]
    public async Task Unary_InvalidBase64InBinaryHeader_Internal(string value)
    {
        await using var host = await StartAsync();
        using var client = GrpcWire.CreateHttpClient();
        var request = GrpcWire.Post(host.Address, GrpcWire.UnaryPath, GrpcWire.Frame(Hello));
        request.Headers.TryAddWithoutValidation("x-foo-bin", value);

        var response = await GrpcWire.SendAsync(client, request);

        AssertTrailersOnly(response, StatusCode.Internal, "Metadata 'x-foo-bin' is not valid base64.");
    }

    [Fact]
    public async Task Unary_PaddedAndUnpaddedBinaryHeaders_AcceptedAndEchoedUnpadded()
    {
        await using var host = await StartAsync();
        using var client = GrpcWire.CreateHttpClient();
        var request = GrpcWire.Post(host.Address, GrpcWire.UnaryPath, GrpcWire.Frame(Hello));
        request.Headers.TryAddWithoutValidation("x-padded-bin", "AQI=");
        request.Headers.TryAddWithoutValidation("x-unpadded-bin", "AQI");

        var response = await GrpcWire.SendAsync(client, request);

        Assert.Equal("0", response.Trailer("grpc-status"));
        Assert.Equal("AQI", response.Header("x-padded-bin"));
        Assert.Equal("AQI", response.Header("x-unpadded-bin"));
    }

    [Fact]
    public async Task Unary_HandlerFailsWithNonAsciiMessage_PercentEncodedOnTheWireAndDecodedExactly()
    {
        const string detail = "café ☕ 100% done\nnext line 😀";
        await using var host = await StartAsync();
        using var client = GrpcWire.CreateHttpClient();
        var failing = new EchoRequest { Fail = new Failure { Code = (int)StatusCode.FailedPrecondition, Message = detail } };

        var response = await GrpcWire.SendAsync(client, GrpcWire.Post(host.Address, GrpcWire.UnaryPath, GrpcWire.Frame(failing)));

        var raw = response.Header("grpc-message");
        Assert.Equal("caf%C3%A9 %E2%98%95 100%25 done%0Anext line %F0%9F%98%80", raw);
        AssertTrailersOnly(response, StatusCode.FailedPrecondition, detail);
    }

    [Fact]
    public async Task Unary_HandlerFailsWithTrailers_TrailersOnlyCarriesMetadataAndUnpaddedBinary()
    {
        await using var host = await StartAsync();
        using var client = GrpcWire.CreateHttpClient();
        var failing = new EchoRequest { Fail = new Failure { Code = (int)StatusCode.InvalidArgument, Message = "bad", Details = ByteString.CopyFrom(1, 2, 3, 4) } };
        var request = GrpcWire.Post(host.Address, GrpcWire.UnaryPath, GrpcWire.Frame(failing));
        request.Headers.TryAddWithoutValidation("x-echo", "me");

        var response = await GrpcWire.SendAsync(client, request);

        AssertTrailersOnly(response, StatusCode.InvalidArgument, "bad");
        Assert.Equal("AQIDBA", response.Header("grpc-status-details-bin"));
        Assert.Equal("me", response.Header("x-echo"));
    }

    [Fact]
    public async Task ServerStream_FailsAfterMessages_MessagesThenStatusInTrailers()
    {
        await using var host = await StartAsync();
        using var client = GrpcWire.CreateHttpClient();
        var request = new EchoRequest { ResponseCount = 2, Fail = new Failure { Code = (int)StatusCode.DataLoss, Message = "lost 100%" } };

        var response = await GrpcWire.SendAsync(client, GrpcWire.Post(host.Address, "/esp.interop.Echo/ServerStream", GrpcWire.Frame(request)));

        Assert.Equal(200, response.HttpStatus);
        Assert.Null(response.Header("grpc-status"));
        Assert.Equal(2, GrpcWire.ParseFrames(response.Body).Count);
        Assert.Equal("15", response.Trailer("grpc-status"));
        Assert.Equal("lost 100%25", response.Trailer("grpc-message"));
    }

    [Fact]
    public async Task Unary_HandlerFailsWithNonAsciiMessage_OurClientDecodesItExactly()
    {
        const string detail = "Ünïcödé ✓ — 日本語 %41 😀";
        await using var host = await StartAsync();
        using var channel = GrpcChannel.ForAddress(host.Address);
        var failing = new EchoRequest { Fail = new Failure { Code = (int)StatusCode.Aborted, Message = detail } };

        var ex = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryCall(GrpcWire.UnaryMethod, failing).ResponseAsync.DefaultTimeout());

        Assert.Equal(new Status(StatusCode.Aborted, detail), ex.Status);
    }

    private static async Task<TestGrpcHost> StartAsync(GrpcServerOptions? options = null, HttpProtocols protocols = HttpProtocols.Http2) =>
        await TestGrpcHost.StartAsync([new EchoService().CreateDefinition()], options, protocols: protocols).DefaultTimeout();

    /// <summary>
    /// A Trailers-Only response: HTTP 200, application/grpc, the status in the response headers
    /// (the single HEADERS frame that ends the stream), no body and no trailers.
    /// </summary>
    private static Status AssertTrailersOnly(RawResponse response, StatusCode code, string? detail = null)
    {
        Assert.Equal(200, response.HttpStatus);
        Assert.Equal("application/grpc", response.Header("content-type"));
        Assert.Empty(response.Body);
        Assert.Empty(response.Trailers);
        Assert.Equal(GrpcProtocol.ToTrailerString(code), response.Header("grpc-status"));
        var status = new Status(code, PercentEncoding.Decode(response.Header("grpc-message") ?? ""));
        if (detail is not null)
            Assert.Equal(detail, status.Detail);
        return status;
    }
}
