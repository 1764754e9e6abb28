using Esp.Grpc;
using Esp.Grpc.Client;
using Esp.Grpc.Http2;
using Esp.Interop;
using Esp.Tests.Grpc;
using Esp.Tests.Grpc.Http2;
using Esp.Tests.Infrastructure;
using Esp.Tests.Interop;
using Google.Protobuf;
using Xunit;

namespace Esp.Tests.Functional;

/// <summary>
/// A backend that refuses a stream without processing it (REFUSED_STREAM, or a GOAWAY below the
/// stream: what a gracefully restarting server sends) costs a unary caller nothing: the proxy
/// sends the call once more, on another connection if needed. A second refusal is the caller's
/// UNAVAILABLE.
/// </summary>
public sealed class BackendRefusalTests : IAsyncLifetime
{
    private ScriptedHttp2Server _backend = null!;
    private TestProxy _proxy = null!;
    private GrpcChannel _channel = null!;

    private static CallOptions Bounded => new() { Timeout = TimeSpan.FromSeconds(10) };

    public async Task InitializeAsync()
    {
        _backend = ScriptedHttp2Server.Start();
        _proxy = await TestProxy.StartAsync(TestConfigs.OpenEcho, ProtocDescriptors.Interop, $"grpc://127.0.0.1:{_backend.Port}");
        _channel = GrpcChannel.ForAddress(_proxy.Address);
    }

    public async Task DisposeAsync()
    {
        _channel.Dispose();
        await _proxy.DisposeAsync();
        await _backend.DisposeAsync();
    }

    [Fact]
    public async Task RefusedStream_SentAgain_CallerGetsTheAnswer()
    {
        var call = _channel.UnaryCall(EchoClientCases.Unary, new EchoRequest { Payload = ByteString.CopyFromUtf8("once") }, Bounded).ResponseAsync;
        var connection = await _backend.AcceptAndHandshakeAsync();

        var first = await ReadRequestAsync(connection);
        await connection.WriteRstStreamAsync(first.StreamId, Http2ErrorCode.RefusedStream);
        var second = await ReadRequestAsync(connection);
        await AnswerAsync(connection, second.StreamId, "once");

        var response = await call.DefaultTimeout();
        Assert.Equal("once", response.Payload.ToStringUtf8());
        Assert.True(second.StreamId > first.StreamId);
        Assert.Equal(first.Fields, second.Fields); // The same request, headers and all.
    }

    [Fact]
    public async Task GoAwayBelowTheStream_SentAgainOnANewConnection()
    {
        var call = _channel.UnaryCall(EchoClientCases.Unary, new EchoRequest { Payload = ByteString.CopyFromUtf8("restart") }, Bounded).ResponseAsync;
        var old = await _backend.AcceptAndHandshakeAsync();
        var refused = await ReadRequestAsync(old);

        Assert.Equal(1, refused.StreamId);
        await old.WriteGoAwayAsync(lastStreamId: 0, Http2ErrorCode.NoError);
        var fresh = await _backend.AcceptAndHandshakeAsync();
        var retried = await ReadRequestAsync(fresh);
        await AnswerAsync(fresh, retried.StreamId, "restart");

        Assert.Equal("restart", (await call.DefaultTimeout()).Payload.ToStringUtf8());
        await old.WaitForCloseAsync(); // The drained connection is closed.
    }

    [Fact]
    public async Task RefusedTwice_Unavailable()
    {
        var call = _channel.UnaryCall(EchoClientCases.Unary, new EchoRequest(), Bounded).ResponseAsync;
        var connection = await _backend.AcceptAndHandshakeAsync();

        await connection.WriteRstStreamAsync((await ReadRequestAsync(connection)).StreamId, Http2ErrorCode.RefusedStream);
        await connection.WriteRstStreamAsync((await ReadRequestAsync(connection)).StreamId, Http2ErrorCode.RefusedStream);

        var error = await Assert.ThrowsAsync<RpcException>(() => call).DefaultTimeout();
        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
        Assert.Contains("reset the stream (REFUSED_STREAM)", error.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OtherResets_NotRetried()
    {
        var call = _channel.UnaryCall(EchoClientCases.Unary, new EchoRequest(), Bounded).ResponseAsync;
        var connection = await _backend.AcceptAndHandshakeAsync();

        await connection.WriteRstStreamAsync((await ReadRequestAsync(connection)).StreamId, Http2ErrorCode.InternalError);

        var error = await Assert.ThrowsAsync<RpcException>(() => call).DefaultTimeout();
        Assert.Equal(StatusCode.Internal, error.StatusCode);
        var frames = await connection.SyncAsync();
        Assert.DoesNotContain(frames, f => f.Type == Http2FrameType.Headers); // Processed, maybe: never sent twice.
    }

    /// <summary>Reads one whole unary request: its HEADERS, then DATA up to END_STREAM.</summary>
    private static async Task<Http2Frame> ReadRequestAsync(ScriptedConnection connection)
    {
        var headers = await connection.NextAsync(f => f.Type == Http2FrameType.Headers, "request HEADERS");
        if (!headers.EndStream)
        {
            while (!(await connection.NextAsync(Http2FrameType.Data, headers.StreamId)).EndStream)
            {
            }
        }
        return headers;
    }

    private static async Task AnswerAsync(ScriptedConnection connection, int streamId, string message)
    {
        await connection.WriteResponseHeadersAsync(streamId, 200, endStream: false, ("content-type", "application/grpc"));
        await connection.WriteDataAsync(streamId, GrpcWire.Frame(new EchoResponse { Payload = ByteString.CopyFromUtf8(message) }));
        await connection.WriteTrailersAsync(streamId, ("grpc-status", "0"));
    }
}
