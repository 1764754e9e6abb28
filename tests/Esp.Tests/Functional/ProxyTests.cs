using System.Globalization;
using System.Net;
using Esp.Grpc;
using Esp.Grpc.Client;
using Esp.Grpc.Server;
using Esp.Interop;
using Esp.Tests.Grpc;
using Esp.Tests.Grpc.Http2;
using Esp.Tests.Infrastructure;
using Esp.Tests.Interop;
using Google.Protobuf;
using Microsoft.AspNetCore.Http;
using Xunit;

namespace Esp.Tests.Functional;

/// <summary>What the proxy itself decides: routing, header hygiene, deadlines, backend failures, load.</summary>
public sealed class ProxyTests : IAsyncLifetime
{
    private readonly EchoService _echo = new();
    private readonly List<IAsyncDisposable> _cleanup = [];
    private TestGrpcHost _backend = null!;

    private static CallOptions Bounded => new() { Timeout = TimeSpan.FromSeconds(10) };

    public async Task InitializeAsync() => _backend = await TestGrpcHost.StartAsync([_echo.CreateDefinition()]);

    [Fact]
    public async Task UnknownMethod_Unimplemented_NeverForwarded()
    {
        await using var backend = await RawHttp2Server.StartAsync(_ => Task.CompletedTask);
        var proxy = await StartProxyAsync($"grpc://127.0.0.1:{backend.Address.Port}");
        using var channel = GrpcChannel.ForAddress(proxy.Address);
        var missing = new Method<EchoRequest, EchoResponse>(MethodType.Unary, "esp.interop.Echo", "Missing");

        var error = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryCall(missing, new EchoRequest(), Bounded).ResponseAsync).DefaultTimeout();

        Assert.Equal(StatusCode.Unimplemented, error.StatusCode);
        Assert.Contains("/esp.interop.Echo/Missing", error.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(0, backend.Requests);
    }

    [Fact]
    public async Task SpoofedIdentityHeaders_Stripped_OtherMetadataUntouched()
    {
        var proxy = await StartProxyAsync(BackendAddress);
        using var channel = GrpcChannel.ForAddress(proxy.Address);
        var metadata = new Metadata()
            .Add("x-endpoint-api-userinfo", "eyJpZCI6ImFkbWluIn0=")
            .Add("X-Forwarded-Authorization", "Bearer forged")
            .Add("x-custom", "kept")
            .Add("x-custom-bin", [0, 1, 2]);

        using var call = channel.UnaryCall(EchoClientCases.Unary, new EchoRequest(), Bounded with { Headers = metadata });
        await call.ResponseAsync.DefaultTimeout();
        var echoed = await call.ResponseHeadersAsync.DefaultTimeout();

        Assert.Null(echoed.GetValue("x-endpoint-api-userinfo"));
        Assert.Null(echoed.GetValue("x-forwarded-authorization"));
        Assert.Equal("kept", echoed.GetValue("x-custom"));
        Assert.Equal(new byte[] { 0, 1, 2 }, echoed.GetValueBytes("x-custom-bin"));
    }

    [Fact]
    public async Task UnaryRequestMessageNeverSent_DeadlineExceededAfterTheRequestMessageTimeout_NeverForwarded()
    {
        await using var backend = await RawHttp2Server.StartAsync(_ => Task.CompletedTask);
        var proxy = await StartProxyAsync($"grpc://127.0.0.1:{backend.Address.Port}",
            configure: o => o with { RequestMessageTimeout = TimeSpan.FromMilliseconds(200) });
        await using var pool = new Esp.Grpc.Http2.Http2ConnectionPool(proxy.Address, null, TimeSpan.FromSeconds(5));

        // HEADERS without END_STREAM, and then nothing: a caller that never sends its message.
        using var stream = await pool.StartAsync(endStream: false, path: "/esp.interop.Echo/Unary");
        await stream.WaitForResponseAsync().AsTask().DefaultTimeout();

        Assert.True(stream.EndedWithHeaders); // Trailers-Only
        Assert.Contains(stream.ResponseHeaders, h => h.Key == "grpc-status" && h.Value == "4");
        var message = Uri.UnescapeDataString(stream.ResponseHeaders.Single(h => h.Key == "grpc-message").Value);
        Assert.Equal("The request message did not arrive: nothing of it came for 0.2 s, so the call ended without reaching the backend.", message);
        Assert.Equal(0, backend.Requests);
    }

    [Fact]
    public async Task BackendRuleDeadline_BoundsCallerWithoutDeadline_DeadlineExceededAndBackendCancelled()
    {
        var config = TestConfigs.OpenEcho + """

            backend:
              rules:
              - selector: esp.interop.Echo.Unary
                deadline: 0.2
            """;
        var proxy = await StartProxyAsync(BackendAddress, config);
        using var channel = GrpcChannel.ForAddress(proxy.Address);

        var error = await Assert.ThrowsAsync<RpcException>(() =>
            channel.UnaryCall(EchoClientCases.Unary, new EchoRequest { WaitForCancel = true }).ResponseAsync).DefaultTimeout();

        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
        Assert.Equal(1, (await channel.UnaryCall(EchoClientCases.Observed, new ObservedRequest { MinCancelled = 1 }, Bounded).ResponseAsync.DefaultTimeout()).Cancelled);
    }

    [Fact]
    public async Task CallerTimeout_ShorterThanRule_PassedOnAsTheShorter()
    {
        string? seen = null;
        await using var backend = await RawHttp2Server.StartAsync(context =>
        {
            seen = context.Request.Headers["grpc-timeout"];
            context.Response.ContentType = "application/grpc";
            context.Response.Headers["grpc-status"] = "0";
            return Task.CompletedTask;
        });
        var config = TestConfigs.OpenEcho + """

            backend:
              rules:
              - selector: "*"
                deadline: 30
            """;
        var proxy = await StartProxyAsync($"grpc://127.0.0.1:{backend.Address.Port}", config);
        using var channel = GrpcChannel.ForAddress(proxy.Address);

        using var shortCall = channel.UnaryCall(EchoClientCases.Unary, new EchoRequest(), new CallOptions { Timeout = TimeSpan.FromSeconds(5) });
        await Assert.ThrowsAsync<RpcException>(() => shortCall.ResponseAsync).DefaultTimeout();
        Assert.True(GrpcTimeoutSeconds(seen) is > 4 and <= 5, $"grpc-timeout {seen}");

        using var longCall = channel.UnaryCall(EchoClientCases.Unary, new EchoRequest(), new CallOptions { Timeout = TimeSpan.FromSeconds(100) });
        await Assert.ThrowsAsync<RpcException>(() => longCall.ResponseAsync).DefaultTimeout();
        Assert.True(GrpcTimeoutSeconds(seen) is > 29 and <= 30, $"grpc-timeout {seen}");
    }

    [Fact]
    public async Task BackendDown_Unavailable_ThenRestarted_NextCallWorks()
    {
        var port = FreePort();
        var proxy = await StartProxyAsync($"grpc://127.0.0.1:{port}");
        using var channel = GrpcChannel.ForAddress(proxy.Address);

        var error = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryCall(EchoClientCases.Unary, new EchoRequest(), Bounded).ResponseAsync).DefaultTimeout();
        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
        Assert.Contains($"grpc://127.0.0.1:{port}", error.Status.Detail, StringComparison.Ordinal);

        await using (var python = await PeerProcess.StartServerAsync(RepositoryPaths.Python, Path.Combine(RepositoryPaths.Peers, "interop_server.py"), "--port", port.ToString(CultureInfo.InvariantCulture)))
        {
            var response = await channel.UnaryCall(EchoClientCases.Unary, new EchoRequest { Payload = ByteString.CopyFromUtf8("back") }, Bounded).ResponseAsync.DefaultTimeout();
            Assert.Equal("back", response.Payload.ToStringUtf8());
        }

        var again = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryCall(EchoClientCases.Unary, new EchoRequest(), Bounded).ResponseAsync).DefaultTimeout();
        Assert.Equal(StatusCode.Unavailable, again.StatusCode);
    }

    [Theory]
    [InlineData(404, StatusCode.Unimplemented)]
    [InlineData(503, StatusCode.Unavailable)]
    [InlineData(500, StatusCode.Unknown)]
    public async Task BackendAnswersNotGrpc_MappedStatusNamingTheBackend(int httpStatus, StatusCode expected)
    {
        await using var backend = await RawHttp2Server.StartAsync(context =>
        {
            context.Response.StatusCode = httpStatus;
            context.Response.ContentType = "text/html";
            return context.Response.WriteAsync("<html>no</html>");
        });
        var proxy = await StartProxyAsync($"grpc://127.0.0.1:{backend.Address.Port}");
        using var channel = GrpcChannel.ForAddress(proxy.Address);

        var error = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryCall(EchoClientCases.Unary, new EchoRequest(), Bounded).ResponseAsync).DefaultTimeout();

        Assert.Equal(expected, error.StatusCode);
        Assert.Contains($"answered HTTP {httpStatus} (text/html)", error.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BackendResetsMidStream_CallerGetsInternalNamingTheReset()
    {
        await using var backend = await RawHttp2Server.StartAsync(async context =>
        {
            await RawHttp2Server.StartGrpcResponseAsync(context);
            await RawHttp2Server.WriteAsync(context, GrpcWire.Frame(new EchoResponse { Index = 1 }));
            context.Abort();
        });
        var proxy = await StartProxyAsync($"grpc://127.0.0.1:{backend.Address.Port}");
        using var channel = GrpcChannel.ForAddress(proxy.Address);

        using var call = channel.ServerStreamingCall(EchoClientCases.ServerStream, new EchoRequest(), Bounded);
        var received = 0;
        var error = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            // The message sent before the reset may or may not survive it (RFC 9113 §6.4 lets the
            // receiver drop what is buffered); the status must come either way, never a hang.
            while (await call.ResponseStream.MoveNext(CancellationToken.None))
                received++;
        }).DefaultTimeout();

        Assert.InRange(received, 0, 1);
        Assert.Equal(StatusCode.Internal, error.StatusCode);
        Assert.Contains("reset the stream (INTERNAL_ERROR)", error.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CallerDropsConnection_CallsInFlightLoggedAsResetByCaller_BackendNotBlamed()
    {
        // What h2load does at the end of a timed run: close its connections with calls in flight,
        // unary ones waiting for the backend's answer and streams in the middle of theirs.
        const int Calls = 100;
        var log = new Tools.CapturedLog();
        var proxy = await TestProxy.StartAsync(TestConfigs.OpenEcho, ProtocDescriptors.Interop, BackendAddress, log: log);
        _cleanup.Add(proxy);
        var sockets = new System.Collections.Concurrent.ConcurrentBag<System.Net.Sockets.Socket>();
        using var handler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            ConnectCallback = async (context, cancellationToken) =>
            {
                var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp) { NoDelay = true };
                sockets.Add(socket);
                await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
            },
        };
        using var caller = GrpcChannel.ForAddress(proxy.Address, new GrpcChannelOptions { HttpHandler = handler });
        var calls = new List<IDisposable>();
        for (var i = 0; i < Calls; i++)
            calls.Add(caller.UnaryCall(EchoClientCases.Unary, new EchoRequest { WaitForCancel = true }, Bounded));
        for (var i = 0; i < Calls; i++)
        {
            var call = caller.ServerStreamingCall(EchoClientCases.ServerStream, new EchoRequest { ResponseCount = 1, WaitForCancel = true }, Bounded);
            Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout());
            calls.Add(call);
        }

        foreach (var socket in sockets)
            socket.Close();
        using var observer = GrpcChannel.ForAddress(proxy.Address);
        var observed = await observer.UnaryCall(EchoClientCases.Observed, new ObservedRequest { MinCancelled = 2 * Calls }, Bounded).ResponseAsync.DefaultTimeout();
        await log.WaitUntilAsync(lines => lines.Count(l => l.Contains("reset by caller", StringComparison.Ordinal)) >= 2 * Calls, TimeSpan.FromSeconds(10));

        Assert.Equal(2 * Calls, observed.Cancelled);
        Assert.DoesNotContain(log.Lines, l => l.StartsWith("Warning", StringComparison.Ordinal));
        calls.ForEach(c => c.Dispose());
    }

    [Fact]
    public async Task ClientStream_BackendAnswersBeforeFirstMessage_CallerGetsItAtOnce_OnReusedConnections()
    {
        var refusing = GrpcServiceDefinition.CreateBuilder(GrpcWire.EchoDescriptor)
            .AddClientStreaming<EchoRequest, EchoResponse>("ClientStream", (_, _) => throw new RpcException(new Status(StatusCode.FailedPrecondition, "not now")))
            .Build();
        await using var backend = await TestGrpcHost.StartAsync([refusing]);
        var proxy = await StartProxyAsync($"grpc://127.0.0.1:{backend.Port}");
        using var channel = GrpcChannel.ForAddress(proxy.Address);

        // The request stream stays open: the backend must see the call from its headers alone.
        for (var i = 0; i < 20; i++)
        {
            using var call = channel.ClientStreamingCall(EchoClientCases.ClientStream, Bounded);
            var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync).DefaultTimeout();
            Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        }
    }

    [Fact]
    public async Task HundredsOfConcurrentStreams_AllComplete()
    {
        var proxy = await StartProxyAsync(BackendAddress);
        using var channel = GrpcChannel.ForAddress(proxy.Address);

        var unary = Enumerable.Range(0, 300).Select(async i =>
        {
            var response = await channel.UnaryCall(EchoClientCases.Unary, new EchoRequest { Payload = ByteString.CopyFromUtf8($"u{i}") }, Bounded).ResponseAsync;
            Assert.Equal($"u{i}", response.Payload.ToStringUtf8());
        });
        var bidi = Enumerable.Range(0, 100).Select(async i =>
        {
            using var call = channel.DuplexStreamingCall(EchoClientCases.Bidi, Bounded);
            for (var n = 0; n < 5; n++)
            {
                await call.RequestStream.WriteAsync(new EchoRequest { Payload = ByteString.CopyFromUtf8($"b{i}.{n}") });
                Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
                Assert.Equal($"b{i}.{n}", call.ResponseStream.Current.Payload.ToStringUtf8());
            }
            await call.RequestStream.CompleteAsync();
            Assert.False(await call.ResponseStream.MoveNext(CancellationToken.None));
        });

        await Task.WhenAll(unary.Concat(bidi)).DefaultTimeout();
    }

    [Fact]
    public async Task NonGrpcRequestToGrpcMethod_415WithJsonError()
    {
        var proxy = await StartProxyAsync(BackendAddress);
        using var http = GrpcWire.CreateHttpClient();
        var request = GrpcWire.Post(proxy.Address, "/esp.interop.Echo/Unary", new StringContent("{}"), "application/json");

        var response = await GrpcWire.SendAsync(http, request);

        Assert.Equal(415, response.HttpStatus);
        Assert.Equal("application/json", response.Header("content-type"));
        Assert.Contains("esp.interop.Echo.Unary is a gRPC method", System.Text.Encoding.UTF8.GetString(response.Body), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Http1Listener_GrpcCallGetsClearError_HealthzOnEveryListener()
    {
        var proxy = await StartProxyAsync(BackendAddress, configure: o => o with { HttpPort = 0, HealthzPath = "healthz" });
        using var http = GrpcWire.CreateHttpClient();
        var http1Port = proxy.Ports["http"];

        using var grpcOverHttp1 = new HttpRequestMessage(HttpMethod.Post, $"http://127.0.0.1:{http1Port}/esp.interop.Echo/Unary")
        {
            Content = new ByteArrayContent(GrpcWire.Frame(new EchoRequest())),
        };
        grpcOverHttp1.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/grpc");
        using var rejected = await http.SendAsync(grpcOverHttp1).DefaultTimeout();
        using var health1 = await http.GetAsync(new Uri($"http://127.0.0.1:{http1Port}/healthz")).DefaultTimeout();
        using var health2 = await http.SendAsync(new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{proxy.Port}/healthz")
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        }).DefaultTimeout();

        Assert.Equal(HttpStatusCode.UpgradeRequired, rejected.StatusCode);
        Assert.Contains("gRPC requires HTTP/2", await rejected.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, health1.StatusCode);
        Assert.Equal(HttpStatusCode.OK, health2.StatusCode);
    }

    [Fact]
    public async Task Http1RequestOnTheHttp2Port_505SayingWhereHttp1Goes_PortStillServesHttp2()
    {
        var proxy = await StartProxyAsync(BackendAddress, configure: o => o with { HealthzPath = "healthz" });
        using var http = GrpcWire.CreateHttpClient();

        using var http1 = await http.SendAsync(new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{proxy.Port}/healthz")
        {
            Version = HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        }).DefaultTimeout();
        using var http2 = await http.SendAsync(new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{proxy.Port}/healthz")
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        }).DefaultTimeout();

        Assert.Equal(HttpStatusCode.HttpVersionNotSupported, http1.StatusCode);
        var reason = await http1.Content.ReadAsStringAsync();
        Assert.Contains("HTTP/2 only", reason, StringComparison.Ordinal);
        Assert.Contains("--http_port", reason, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, http2.StatusCode);
    }

    [Fact]
    public async Task TlsListener_TestCa_OurClientAndPythonClient()
    {
        using var certificates = TestCertificates.Create("proxy.test");
        var directory = Directory.CreateTempSubdirectory("esp-tls-").FullName;
        try
        {
            var (caPath, _, _) = certificates.WritePem(directory);
            var proxy = await StartProxyAsync(BackendAddress, configure: o => o with { Http2Port = null, SslPort = 0, SslServerCertPath = directory });
            var sslPort = proxy.Ports["ssl"];
            var roots = new System.Security.Cryptography.X509Certificates.X509Certificate2Collection(certificates.Authority);
            using var channel = GrpcChannel.ForAddress($"https://127.0.0.1:{sslPort}", new GrpcChannelOptions { RootCertificates = roots, ServerNameOverride = "proxy.test" });

            var response = await channel.UnaryCall(EchoClientCases.Unary, new EchoRequest { Payload = ByteString.CopyFromUtf8("tls") }, Bounded).ResponseAsync.DefaultTimeout();
            var (exitCode, output) = await PeerProcess.RunAsync(RepositoryPaths.Python, [Path.Combine(RepositoryPaths.Peers, "interop_client.py"),
                "--target", $"127.0.0.1:{sslPort}", "--case", "unary", "--ca", caPath, "--servername", "proxy.test"]);

            Assert.Equal("tls", response.Payload.ToStringUtf8());
            Assert.True(exitCode == 0, output);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private string BackendAddress => $"grpc://127.0.0.1:{_backend.Port}";

    private async Task<TestProxy> StartProxyAsync(string backend, string? config = null, Func<Esp.Hosting.ProxyOptions, Esp.Hosting.ProxyOptions>? configure = null)
    {
        var proxy = await TestProxy.StartAsync(config ?? TestConfigs.OpenEcho, ProtocDescriptors.Interop, backend, configure);
        _cleanup.Add(proxy);
        return proxy;
    }

    private static double GrpcTimeoutSeconds(string? header)
    {
        Assert.NotNull(header);
        Assert.True(Esp.Grpc.Protocol.GrpcTimeout.TryParse(header, out var timeout), header);
        return timeout.TotalSeconds;
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async Task DisposeAsync()
    {
        foreach (var item in _cleanup)
            await item.DisposeAsync();
        await _backend.DisposeAsync();
    }
}
