using Esp.Grpc.Http2;
using Esp.Grpc.Http2.Hpack;
using Esp.Grpc.Http2.Server;
using Esp.Tests.Grpc.Http2.Hpack;
using Microsoft.AspNetCore.Http;
using Xunit;

namespace Esp.Tests.Grpc.Http2.Server;

/// <summary>
/// Stream errors (RFC 9113 §5.4.2): RST_STREAM with the code RFC 9113 gives, and the connection
/// goes on (each test follows with a good request on it). A malformed request (§8.1.1) never
/// reaches the application: a proxy must not forward it.
/// </summary>
public sealed class Http2ServerStreamErrorTests
{
    public static TheoryData<string> MalformedRequests =>
    [
        "missing :method", "missing :scheme", "missing :path",
        "duplicate :method", "duplicate :path", "duplicate :scheme",
        "pseudo-header :status", "pseudo-header :protocol", "unknown pseudo-header :foo",
        "pseudo-header after a regular one",
        "upper-case name", "space in a name", "colon inside a name",
        "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade",
        "te other than trailers",
        "NUL in a value", "CR in a value", "LF in a value",
        "leading space in a value", "trailing space in a value", "leading tab in a value", "trailing tab in a value",
        "empty :path",
    ];

    [Theory]
    [MemberData(nameof(MalformedRequests))]
    public async Task MalformedRequest_RstProtocolError_AppNotCalled_ConnectionUsable(string malformation)
    {
        await using var host = Http2ServerHost.Start();
        var client = await host.OpenAsync();

        await client.WriteBlockAsync(1, MalformedBlock(client.Connection.Encoder, malformation));

        await client.ExpectRstAsync(1, Http2ErrorCode.ProtocolError);
        await client.AssertUsableAsync(3);
        Assert.Equal(0, host.App.Calls);
    }

    [Theory]
    [InlineData(10, 5)]
    [InlineData(3, 5)]
    [InlineData(5, 0)]
    public async Task ContentLengthNotMatchingTheData_RstProtocolError_AppNeverSeesAWholeBody(int declared, int sent)
    {
        var bodyRead = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = Http2ServerHost.Start(handler: async context =>
        {
            try
            {
                await TestApp.ReadBodyAsync(context.Request);
                bodyRead.TrySetResult(true);
            }
            catch (Exception)
            {
                bodyRead.TrySetResult(false);
            }
        });
        var client = await host.OpenAsync();
        var request = ScriptedHttp2Client.Request(headers: ("content-length", declared.ToString(System.Globalization.CultureInfo.InvariantCulture)));

        await client.WriteRequestAsync(1, request, endStream: sent == 0);
        if (sent > 0)
            await client.Connection.WriteDataAsync(1, new byte[sent], endStream: true);

        await client.ExpectRstAsync(1, Http2ErrorCode.ProtocolError);
        await client.AssertUsableAsync(3);
        if (host.App.Calls > 0)
            Assert.False(await bodyRead.Task.Within(), "The application read a whole body that did not match its content-length.");
    }

    [Fact]
    public async Task DataBeyondTheStreamWindow_RstFlowControlError_AppAborted()
    {
        var aborted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = Http2ServerHost.Start(new Http2ServerOptions { StreamReceiveWindow = 16_384 }, async context =>
        {
            using var registration = context.RequestAborted.Register(() => aborted.TrySetResult());
            await aborted.Task; // reads nothing, so nothing is credited
        });
        var client = await host.OpenAsync();
        Assert.Contains((Http2Protocol.SettingInitialWindowSize, 16_384u), client.ServerSettings!.Settings);
        await client.WriteRequestAsync(1, ScriptedHttp2Client.Request(), endStream: false);
        await client.Connection.WriteDataAsync(1, new byte[16_384]); // exactly the window

        await client.Connection.WriteDataAsync(1, "!"u8);

        await client.ExpectRstAsync(1, Http2ErrorCode.FlowControlError);
        await aborted.Task.Within();
        await client.AssertUsableAsync(3);
    }

    [Fact]
    public async Task StreamWindowUpdateOf0_RstProtocolError()
    {
        var aborted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = Http2ServerHost.Start(handler: async context =>
        {
            using var registration = context.RequestAborted.Register(() => aborted.TrySetResult());
            await aborted.Task;
        });
        var client = await host.OpenAsync();
        await client.WriteRequestAsync(1, ScriptedHttp2Client.Request(), endStream: false);
        await host.App.NextCallAsync();

        await client.Connection.WriteWindowUpdateAsync(1, 0);

        await client.ExpectRstAsync(1, Http2ErrorCode.ProtocolError);
        await aborted.Task.Within();
        await client.AssertUsableAsync(3);
    }

    [Fact]
    public async Task StreamWindowUpdateOverflowing_RstFlowControlError()
    {
        var aborted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = Http2ServerHost.Start(handler: async context =>
        {
            using var registration = context.RequestAborted.Register(() => aborted.TrySetResult());
            await aborted.Task;
        });
        var client = await host.OpenAsync();
        await client.WriteRequestAsync(1, ScriptedHttp2Client.Request(), endStream: false);
        await host.App.NextCallAsync();

        await client.Connection.WriteWindowUpdateAsync(1, int.MaxValue); // 65,535 + 2^31-1 > 2^31-1

        await client.ExpectRstAsync(1, Http2ErrorCode.FlowControlError);
        await aborted.Task.Within();
        await client.AssertUsableAsync(3);
    }

    [Fact]
    public async Task DataAfterEndStream_RstStreamClosed()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = Http2ServerHost.Start(handler: async context =>
        {
            await release.Task;
            await context.Response.WriteAsync("done");
        });
        var client = await host.OpenAsync();
        await client.WriteRequestAsync(1, ScriptedHttp2Client.Request(), endStream: true);
        await host.App.NextCallAsync(); // the stream is half-closed (remote)

        await client.Connection.WriteDataAsync(1, "late"u8);

        await client.ExpectRstAsync(1, Http2ErrorCode.StreamClosed);
        release.SetResult();
        await client.AssertUsableAsync(3);
    }

    [Theory]
    [InlineData("trailers without END_STREAM", false, "")]
    [InlineData("trailers with a pseudo-header (RFC 9113 §8.1)", true, "/other")]
    public async Task InvalidRequestTrailers_RstProtocolError_BodyNotEndedNormally(string @case, bool endStream, string path)
    {
        _ = @case;
        var bodyRead = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = Http2ServerHost.Start(handler: async context =>
        {
            try
            {
                await TestApp.ReadBodyAsync(context.Request);
                bodyRead.TrySetResult(true);
            }
            catch (Exception)
            {
                bodyRead.TrySetResult(false);
            }
        });
        var client = await host.OpenAsync();
        await client.WriteRequestAsync(1, ScriptedHttp2Client.Request(), endStream: false);
        await client.Connection.WriteDataAsync(1, "abc"u8);
        List<(string, string)> trailers = path.Length > 0 ? [(":path", path), ("x-trailer", "1")] : [("x-trailer", "1")];

        await client.WriteRequestAsync(1, trailers, endStream: endStream);

        await client.ExpectRstAsync(1, Http2ErrorCode.ProtocolError);
        Assert.False(await bodyRead.Task.Within(), "The body ended normally though the request was malformed.");
        await client.AssertUsableAsync(3);
    }

    [Fact]
    public async Task RequestTrailersWithEndStream_Accepted()
    {
        await using var host = Http2ServerHost.Start();
        var client = await host.OpenAsync();
        await client.WriteRequestAsync(1, ScriptedHttp2Client.GrpcRequest(), endStream: false);
        await client.Connection.WriteDataAsync(1, "abc"u8);

        await client.WriteRequestAsync(1, [("x-trailer", "1")], endStream: true);

        var response = await client.ReadResponseAsync(1);
        Assert.Null(response.Reset);
        Assert.Equal("abc"u8.ToArray(), response.Body);
    }

    /// <summary>The header block of a request with one malformation (RFC 9113 §8.1.1, §8.2, §8.3); raw literals where our encoder refuses.</summary>
    private static byte[] MalformedBlock(HpackEncoder encoder, string malformation)
    {
        var request = ScriptedHttp2Client.Request(headers: [("content-type", "application/grpc")]);
        List<(string Name, string Value)> Without(string name) => [.. request.Where(f => f.Name != name)];
        List<(string Name, string Value)> With(params (string, string)[] extra) => [.. request, .. extra];
        byte[] Encode(List<(string Name, string Value)> fields) => encoder.EncodeBlock(HpackIndexing.WithoutIndexing, [.. fields]);
        byte[] Raw(string name, string value) => [.. Encode(request), .. ScriptedConnection.RawLiteral(name, value)];
        return malformation switch
        {
            "missing :method" => Encode(Without(":method")),
            "missing :scheme" => Encode(Without(":scheme")),
            "missing :path" => Encode(Without(":path")),
            "duplicate :method" => Encode([(":method", "POST"), .. request]),
            "duplicate :path" => Encode([(":path", "/a"), .. request]),
            "duplicate :scheme" => Encode([(":scheme", "http"), .. request]),
            "pseudo-header :status" => Encode([(":status", "200"), .. request]),
            "pseudo-header :protocol" => Encode([.. request.Take(4), (":protocol", "websocket"), .. request.Skip(4)]),
            "unknown pseudo-header :foo" => Encode([.. request.Take(4), (":foo", "bar"), .. request.Skip(4)]),
            "pseudo-header after a regular one" => Encode([.. Without(":path"), (":path", ScriptedHttp2Client.DefaultPath)]),
            "upper-case name" => Raw("X-Upper", "v"),
            "space in a name" => Raw("x y", "v"),
            "colon inside a name" => Raw("x:y", "v"),
            "connection" => Encode(With(("connection", "keep-alive"))),
            "keep-alive" => Encode(With(("keep-alive", "timeout=5"))),
            "proxy-connection" => Encode(With(("proxy-connection", "keep-alive"))),
            "transfer-encoding" => Encode(With(("transfer-encoding", "chunked"))),
            "upgrade" => Encode(With(("upgrade", "h2c"))),
            "te other than trailers" => Encode(With(("te", "gzip"))),
            "NUL in a value" => Raw("x-value", "a\0b"),
            "CR in a value" => Raw("x-value", "a\rb"),
            "LF in a value" => Raw("x-value", "a\nb"),
            "leading space in a value" => Raw("x-value", " a"),
            "trailing space in a value" => Raw("x-value", "a "),
            "leading tab in a value" => Raw("x-value", "\ta"),
            "trailing tab in a value" => Raw("x-value", "a\t"),
            "empty :path" => Encode([.. request.Select(f => f.Name == ":path" ? (f.Name, "") : f)]),
            _ => throw new ArgumentOutOfRangeException(nameof(malformation), malformation, null),
        };
    }
}
