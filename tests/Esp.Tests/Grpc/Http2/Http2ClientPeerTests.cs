using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using Esp.Grpc.Http2;
using Esp.Grpc.Http2.Hpack;
using Esp.Interop;
using Esp.Tests.Infrastructure;
using Esp.Tests.Interop;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Xunit;
using static Esp.Tests.Grpc.Http2.Http2ClientTesting;

namespace Esp.Tests.Grpc.Http2;

/// <summary>The HTTP/2 client against real peers: Kestrel over TLS, and our gRPC server's Echo service.</summary>
public class Http2ClientPeerTests(OurEchoServerFixture echo) : IClassFixture<OurEchoServerFixture>
{
    // --- TLS.

    [Fact]
    public async Task Tls_KestrelWithTestCertificate_NegotiatesH2AndRunsCall()
    {
        using var certificates = TestCertificates.Create();
        var (app, port) = await LoopbackKestrel.StartAsync(HttpProtocols.Http2, app => app.Run(async context =>
        {
            var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            context.Response.Headers["x-protocol"] = context.Request.Protocol;
            context.Response.Headers["x-scheme"] = context.Request.Scheme;
            context.Response.Headers["x-authority"] = context.Request.Host.Value;
            context.Response.Headers["x-path"] = context.Request.Path.Value;
            await context.Response.Body.WriteAsync(body.ToArray());
            context.Response.AppendTrailer("x-trailer", "t");
        }), certificates.Server);
        try
        {
            await using var pool = new Http2ConnectionPool(new Uri($"https://127.0.0.1:{port}"), [certificates.Authority], TimeSpan.FromSeconds(5));

            using var stream = await pool.StartAsync(path: "/tls/echo");
            await stream.WriteAsync(Sequence("over tls"u8.ToArray()), endStream: true).Within();

            Assert.Equal("over tls"u8.ToArray(), await stream.ReadResponseAsync());
            Assert.Equal(200, stream.StatusCode);
            var headers = stream.ResponseHeaders.ToDictionary();
            Assert.Equal("HTTP/2", headers["x-protocol"]);
            Assert.Equal("https", headers["x-scheme"]);
            Assert.Equal($"127.0.0.1:{port}", headers["x-authority"]);
            Assert.Equal("/tls/echo", headers["x-path"]);
            Assert.Contains(new KeyValuePair<string, string>("x-trailer", "t"), stream.Trailers);
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    [Fact]
    public async Task Tls_ServerWithoutAlpn_DidNotAgreeToHttp2()
    {
        using var certificates = TestCertificates.Create();
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var serverSide = Task.Run(async () =>
        {
            using var socket = await listener.AcceptSocketAsync();
            await using var tls = new SslStream(new NetworkStream(socket, ownsSocket: false));
            // No ApplicationProtocols: the handshake succeeds and negotiates no protocol at all.
            await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = certificates.Server });
            var buffer = new byte[1024];
            try
            {
                while (await tls.ReadAsync(buffer) > 0)
                {
                }
            }
            catch (IOException)
            {
                // The client went away.
            }
        });
        await using var pool = new Http2ConnectionPool(new Uri($"https://127.0.0.1:{port}"), [certificates.Authority], TimeSpan.FromSeconds(5));

        var error = await pool.StartAsync(endStream: true).FailsWith<Http2ConnectionException>();

        Assert.Equal($"127.0.0.1:{port} did not agree to HTTP/2 in the TLS handshake (ALPN); gRPC needs HTTP/2.", error.Message);
        await serverSide.Within();
    }

    /// <summary>
    /// A TLS server that offers only http/1.1 (Kestrel with HTTP/1.1 only, and any server that
    /// follows RFC 7301 §3.2) fails the handshake with the no_application_protocol alert: the error
    /// says the server did not agree to HTTP/2, not just "Authentication failed" (found by this test).
    /// </summary>
    [Fact]
    public async Task Tls_ServerOffersOnlyHttp11_ClearError()
    {
        using var certificates = TestCertificates.Create();
        var (app, port) = await LoopbackKestrel.StartAsync(HttpProtocols.Http1, app => app.Run(_ => Task.CompletedTask), certificates.Server);
        try
        {
            await using var pool = new Http2ConnectionPool(new Uri($"https://127.0.0.1:{port}"), [certificates.Authority], TimeSpan.FromSeconds(5));

            var error = await pool.StartAsync(endStream: true).FailsWith<Http2ConnectionException>();

            Assert.Contains($"127.0.0.1:{port}", error.Message, StringComparison.Ordinal);
            Assert.True(error.Message.Contains("did not agree to HTTP/2", StringComparison.Ordinal), error.ToString());
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    [Fact]
    public async Task Tls_UntrustedCertificate_HandshakeErrorNamesAddress()
    {
        using var certificates = TestCertificates.Create();
        var (app, port) = await LoopbackKestrel.StartAsync(HttpProtocols.Http2, app => app.Run(_ => Task.CompletedTask), certificates.Server);
        try
        {
            await using var pool = new Http2ConnectionPool(new Uri($"https://127.0.0.1:{port}"), null, TimeSpan.FromSeconds(5));

            var error = await pool.StartAsync(endStream: true).FailsWith<Http2ConnectionException>();

            Assert.StartsWith($"The TLS handshake with 127.0.0.1:{port} failed", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    // --- Our gRPC server (Kestrel).

    [Fact]
    public async Task Echo_TwoHundredConcurrentUnaryCalls_AllSucceed()
    {
        await using var pool = new Http2ConnectionPool(echo.Address, null, TimeSpan.FromSeconds(5));

        var calls = Enumerable.Range(0, 200).Select(i => Task.Run(async () =>
        {
            var payload = ByteString.CopyFromUtf8($"call {i} " + new string('p', i * 7));
            var result = await CallAsync(pool, "Unary", [new EchoRequest { Payload = payload }], [("x-call", i.ToString(CultureInfo.InvariantCulture), HpackIndexing.WithoutIndexing)]);
            Assert.Equal("0", result.Trailer("grpc-status"));
            Assert.Equal(payload, Assert.Single(result.Responses).Payload);
            Assert.Equal(i.ToString(CultureInfo.InvariantCulture), result.Header("x-call"));
        })).ToArray();

        await Task.WhenAll(calls).Within();
        Assert.InRange(pool.ConnectionCount, 1, 3);
    }

    [Fact]
    public async Task Echo_LargeMessagesBothWays_FlowControlledBothWays()
    {
        await using var pool = new Http2ConnectionPool(echo.Address, null, TimeSpan.FromSeconds(5));
        var payload = ByteString.CopyFrom(Pattern(3 * 1024 * 1024, seed: 7));

        var result = await CallAsync(pool, "Unary", [new EchoRequest { Payload = payload }]);

        Assert.Equal("0", result.Trailer("grpc-status"));
        Assert.Equal(payload, Assert.Single(result.Responses).Payload);
    }

    [Fact]
    public async Task Echo_ServerStreaming_AllResponses()
    {
        await using var pool = new Http2ConnectionPool(echo.Address, null, TimeSpan.FromSeconds(5));

        var result = await CallAsync(pool, "ServerStream", [new EchoRequest { ResponseCount = 20, ResponseSize = 10_000 }]);

        Assert.Equal("0", result.Trailer("grpc-status"));
        Assert.Equal(Enumerable.Range(0, 20), result.Responses.Select(r => r.Index));
        Assert.All(result.Responses, r => Assert.Equal(EchoService.Pattern(10_000), r.Payload));
    }

    [Fact]
    public async Task Echo_ClientStreaming_CountsEveryRequest()
    {
        await using var pool = new Http2ConnectionPool(echo.Address, null, TimeSpan.FromSeconds(5));
        var requests = Enumerable.Range(0, 10).Select(i => new EchoRequest { Payload = ByteString.CopyFrom(Pattern(1000 * (i + 1), i)) }).ToArray();

        var result = await CallAsync(pool, "ClientStream", requests);

        Assert.Equal("0", result.Trailer("grpc-status"));
        var response = Assert.Single(result.Responses);
        Assert.Equal(10, response.MessagesReceived);
        Assert.Equal(requests.Sum(r => r.Payload.Length), response.BytesReceived);
    }

    [Fact]
    public async Task Echo_Bidi_EachRequestAnsweredBeforeTheNextIsSent()
    {
        await using var pool = new Http2ConnectionPool(echo.Address, null, TimeSpan.FromSeconds(5));
        using var stream = await StartGrpcAsync(pool, "Bidi", []);
        var reader = new GrpcMessageReader(stream);

        for (var i = 0; i < 10; i++)
        {
            var payload = ByteString.CopyFromUtf8($"ping {i}");
            await stream.WriteAsync(Sequence(GrpcWire.Frame(new EchoRequest { Payload = payload })), endStream: false).Within();
            if (i == 0)
                await stream.WaitForResponseAsync().Within();
            var response = await reader.ReadAsync();
            Assert.NotNull(response);
            Assert.Equal(payload, response.Payload);
            Assert.Equal(i, response.Index);
        }
        await stream.EndRequestAsync().Within();
        Assert.Null(await reader.ReadAsync());
        Assert.Contains(new KeyValuePair<string, string>("grpc-status", "0"), stream.Trailers);
    }

    [Fact]
    public async Task Echo_TwoThousandSequentialCallsWithVaryingMetadata_HpackTablesStayInStep()
    {
        await using var pool = new Http2ConnectionPool(echo.Address, null, TimeSpan.FromSeconds(5));
        var request = new EchoRequest { Payload = ByteString.CopyFromUtf8("x") };

        for (var i = 0; i < 2000; i++)
        {
            var seq = i.ToString(CultureInfo.InvariantCulture);
            (string, string, HpackIndexing)[] metadata =
            [
                ("x-seq", seq, HpackIndexing.Index), // a new entry every call: the table keeps evicting
                ($"x-key-{i % 40}", $"value-{i % 13}-{new string('z', i % 97)}", HpackIndexing.Index), // repeats now and then
                ("x-fixed", "always the same", HpackIndexing.Index),
                ("authorization", $"Bearer token-{i % 5}", HpackIndexing.NeverIndex),
            ];

            var result = await CallAsync(pool, "Unary", [request], metadata);

            Assert.Equal("0", result.Trailer("grpc-status"));
            Assert.Equal(seq, result.Header("x-seq"));
            Assert.Equal(metadata[1].Item2, result.Header(metadata[1].Item1));
            Assert.Equal("always the same", result.Header("x-fixed"));
            Assert.Equal(seq, result.Trailer("x-seq"));
            Assert.Equal($"Bearer token-{i % 5}", result.Trailer("x-received-authorization"));
        }
        Assert.Equal(1, pool.ConnectionCount);
    }

    // --- Helpers.

    private sealed record CallResult(int Status, IReadOnlyList<KeyValuePair<string, string>> Headers, IReadOnlyList<KeyValuePair<string, string>> Trailers, List<EchoResponse> Responses)
    {
        public string? Header(string name) => Headers.FirstOrDefault(h => h.Key == name).Value;

        public string? Trailer(string name) => Trailers.FirstOrDefault(h => h.Key == name).Value ?? (Trailers.Count == 0 ? Header(name) : null);
    }

    private static Task<Http2ClientStream> StartGrpcAsync(Http2ConnectionPool pool, string method, (string, string, HpackIndexing)[] metadata) =>
        pool.StartAsync(headers: [.. GrpcHeaders, .. metadata], path: $"/esp.interop.Echo/{method}");

    /// <summary>A call: every request written (then the end), every response read, the status in the trailers.</summary>
    private static async Task<CallResult> CallAsync(Http2ConnectionPool pool, string method, EchoRequest[] requests, (string, string, HpackIndexing)[]? metadata = null)
    {
        using var stream = await StartGrpcAsync(pool, method, metadata ?? []);
        for (var i = 0; i < requests.Length; i++)
            await stream.WriteAsync(Sequence(GrpcWire.Frame(requests[i])), endStream: i == requests.Length - 1).Within();
        await stream.WaitForResponseAsync().Within();
        var body = await stream.ReadBodyAsync(64 * 1024);
        var responses = GrpcWire.ParseFrames(body).Select(f => EchoResponse.Parser.ParseFrom(f.Body)).ToList();
        return new CallResult(stream.StatusCode, stream.ResponseHeaders, stream.Trailers, responses);
    }

    /// <summary>Reads length-prefixed messages off a stream's body as they arrive.</summary>
    private sealed class GrpcMessageReader(Http2ClientStream stream)
    {
        private readonly List<byte> _pending = [];
        private readonly byte[] _buffer = new byte[16 * 1024];

        /// <summary>The next message, or null at the end of the body.</summary>
        public async Task<EchoResponse?> ReadAsync()
        {
            while (true)
            {
                if (_pending.Count >= 5)
                {
                    var length = (int)BinaryPrimitives.ReadUInt32BigEndian(_pending.GetRange(1, 4).ToArray());
                    if (_pending.Count >= 5 + length)
                    {
                        var message = EchoResponse.Parser.ParseFrom(_pending.GetRange(5, length).ToArray());
                        _pending.RemoveRange(0, 5 + length);
                        return message;
                    }
                }
                await stream.WaitForBodyAsync().Within();
                if (!stream.TryReadBody(_buffer, out var read))
                    continue;
                if (read == 0)
                    return _pending.Count == 0 ? null : throw new InvalidDataException("The body ended inside a message.");
                _pending.AddRange(_buffer.AsSpan(0, read));
            }
        }
    }
}
