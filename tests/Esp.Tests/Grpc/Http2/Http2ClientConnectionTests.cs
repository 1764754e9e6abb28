using Esp.Grpc.Http2;
using Esp.Grpc.Http2.Hpack;
using Xunit;
using static Esp.Tests.Grpc.Http2.Http2ClientTesting;

namespace Esp.Tests.Grpc.Http2;

/// <summary>
/// The HTTP/2 client against a scripted server: what it sends, and what it makes of each thing a
/// server may send (well-formed, unusual, or broken).
/// </summary>
public class Http2ClientConnectionTests
{
    private static readonly (string, string)[] Ok = [("grpc-status", "0")];

    // --- A normal exchange.

    [Fact]
    public async Task Unary_FullExchange_WireAndResultAsExpected()
    {
        await using var server = ScriptedHttp2Server.Start();
        await using var pool = server.CreatePool();
        (string, string, HpackIndexing)[] headers =
        [
            ("content-type", "application/grpc", HpackIndexing.Index),
            ("te", "trailers", HpackIndexing.Index),
            ("authorization", "Bearer secret-token", HpackIndexing.NeverIndex),
            ("x-custom", "Value-1", HpackIndexing.Index),
        ];

        var stream = await pool.StartAsync(headers: headers, path: "/pkg.Svc/Unary");
        var connection = await server.AcceptAsync();

        // Preface, our SETTINGS, then a connection WINDOW_UPDATE.
        await connection.ReadPrefaceAsync();
        var settings = await connection.NextAnyAsync();
        Assert.Equal(Http2FrameType.Settings, settings.Type);
        Assert.Equal(0, settings.StreamId);
        Assert.False(settings.IsAck);
        Assert.Equal(
            [(Http2Protocol.SettingEnablePush, 0u), (Http2Protocol.SettingInitialWindowSize, 1024u * 1024), (Http2Protocol.SettingMaxHeaderListSize, 64u * 1024)],
            settings.Settings);
        var windowUpdate = await connection.NextAnyAsync();
        Assert.Equal(Http2FrameType.WindowUpdate, windowUpdate.Type);
        Assert.Equal(0, windowUpdate.StreamId);
        Assert.Equal(16 * 1024 * 1024 - 65_535, windowUpdate.WindowIncrement);
        await connection.WriteSettingsAsync();
        await connection.WriteSettingsAckAsync();

        // The request's header block: pseudo-headers first, then ours in order, lower case.
        var request = await connection.NextHeadersAsync(1);
        Assert.Equal(Http2FrameType.Headers, request.Type);
        Assert.True(request.HasFlag(Http2Protocol.FlagEndHeaders));
        Assert.False(request.EndStream);
        Assert.Equal(
            [
                (":method", "POST"), (":scheme", "http"), (":authority", server.Authority), (":path", "/pkg.Svc/Unary"),
                ("content-type", "application/grpc"), ("te", "trailers"), ("authorization", "Bearer secret-token"), ("x-custom", "Value-1"),
            ],
            request.Fields);
        var authorization = request.Headers!.Single(f => f.Name == "authorization");
        Assert.Equal(HpackRepresentation.NeverIndexed, authorization.Representation);
        Assert.Equal(0x10, authorization.FirstByte & 0xF0); // 0001xxxx: literal never indexed

        await stream.WriteAsync(Sequence("hello"u8.ToArray()), endStream: true).Within();
        var data = await connection.NextAsync(Http2FrameType.Data, 1);
        Assert.Equal("hello"u8.ToArray(), data.Payload);
        Assert.True(data.EndStream);

        await connection.WriteResponseHeadersAsync(1, 200, false, ("content-type", "application/grpc"), ("x-response", "r1"));
        await connection.WriteDataAsync(1, "world"u8);
        await connection.WriteTrailersAsync(1, ("grpc-status", "0"), ("grpc-message", "fine"));

        await stream.WaitForResponseAsync().Within();
        Assert.Equal(200, stream.StatusCode);
        Assert.Equal([new("content-type", "application/grpc"), new("x-response", "r1")], stream.ResponseHeaders);
        Assert.Equal("world"u8.ToArray(), await stream.ReadBodyAsync());
        Assert.Equal([new("grpc-status", "0"), new("grpc-message", "fine")], stream.Trailers);
        Assert.False(stream.EndedWithHeaders);
        stream.Dispose();

        // More calls share the connection, on stream ids 3, 5, ...; the same headers now come from the dynamic table.
        foreach (var id in new[] { 3, 5, 7 })
        {
            using var next = await pool.StartAsync(endStream: true, headers: headers, path: "/pkg.Svc/Unary");
            Assert.Equal(id, next.Id);
            var block = await connection.NextHeadersAsync(id);
            Assert.True(block.EndStream);
            Assert.Equal(request.Fields, block.Fields);
            Assert.All(block.Headers!.Where(f => f.Name != "authorization"), f => Assert.Equal(HpackRepresentation.Indexed, f.Representation));
            Assert.Equal(HpackRepresentation.NeverIndexed, block.Headers!.Single(f => f.Name == "authorization").Representation);
            await connection.WriteResponseHeadersAsync(id, 200, endStream: true, ("grpc-status", "0"), ("x-response", $"r{id}"));
            await next.WaitForResponseAsync().Within();
            Assert.Equal([new("grpc-status", "0"), new("x-response", $"r{id}")], next.ResponseHeaders);
        }
        Assert.Equal(1, server.AcceptedCount);
        Assert.Equal(1, pool.ConnectionCount);
        Assert.DoesNotContain(await connection.SyncAsync(), f => f.Type is Http2FrameType.RstStream or Http2FrameType.GoAway);
    }

    [Fact]
    public async Task ResponseHeaders_SplitOverHeadersAndTwoContinuations_Assembled()
    {
        await using var server = ScriptedHttp2Server.Start();
        await using var pool = server.CreatePool();
        var (connection, stream) = await OpenAsync(server, pool, endStream: true);
        (string, string)[] fields = [(":status", "200"), ("content-type", "application/grpc"), ("x-one", new string('a', 300)), ("x-two", "2"), ("x-three", new string('c', 200))];

        var frames = ScriptedConnection.HeaderFrames(1, connection.EncodeBlock(fields), endStream: false, continuations: 2);
        await connection.WriteRawAsync(frames);
        await connection.WriteDataAsync(1, "body"u8);
        await connection.WriteTrailersAsync(1, Ok);

        Assert.Equal("body"u8.ToArray(), await stream.ReadResponseAsync());
        Assert.Equal(200, stream.StatusCode);
        Assert.Equal(fields.Skip(1).Select(f => new KeyValuePair<string, string>(f.Item1, f.Item2)), stream.ResponseHeaders);
        Assert.Equal([new("grpc-status", "0")], stream.Trailers);
    }

    [Fact]
    public async Task Response_PaddedHeadersPaddedDataPaddedTrailers_PaddingStripped()
    {
        await using var server = ScriptedHttp2Server.Start();
        await using var pool = server.CreatePool();
        var (connection, stream) = await OpenAsync(server, pool, endStream: true);

        await connection.WriteRawAsync(ScriptedConnection.HeaderFrames(1, connection.EncodeBlock([(":status", "200"), ("x-padded", "yes")]), endStream: false, padLength: 17));
        await connection.WriteDataAsync(1, "padded body"u8, padLength: 40);
        await connection.WriteDataAsync(1, "!"u8, padLength: 0);
        await connection.WriteRawAsync(ScriptedConnection.HeaderFrames(1, connection.EncodeBlock(Ok), endStream: true, padLength: 255));

        Assert.Equal("padded body!"u8.ToArray(), await stream.ReadResponseAsync());
        Assert.Equal([new("x-padded", "yes")], stream.ResponseHeaders);
        Assert.Equal([new("grpc-status", "0")], stream.Trailers);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ResponseHeaders_WithPriorityFlag_PriorityFieldsSkipped(bool padded)
    {
        await using var server = ScriptedHttp2Server.Start();
        await using var pool = server.CreatePool();
        var (connection, stream) = await OpenAsync(server, pool, endStream: true);

        await connection.WriteRawAsync(ScriptedConnection.HeaderFrames(1, connection.EncodeBlock([(":status", "200"), ("x-prio", "1")]), endStream: true,
            continuations: 1, padLength: padded ? 9 : null, priority: true));

        await stream.WaitForResponseAsync().Within();
        Assert.Equal(200, stream.StatusCode);
        Assert.Equal([new("x-prio", "1")], stream.ResponseHeaders);
        Assert.True(stream.EndedWithHeaders);
    }

    [Fact]
    public async Task ResponseHeaders_InformationalBeforeFinal_InformationalSkipped()
    {
        await using var server = ScriptedHttp2Server.Start();
        await using var pool = server.CreatePool();
        var (connection, stream) = await OpenAsync(server, pool, endStream: true);

        await connection.WriteResponseHeadersAsync(1, 100, false, ("x-informational", "1"));
        await connection.WriteResponseHeadersAsync(1, 103, false, ("link", "</a>"));
        await connection.WriteResponseHeadersAsync(1, 200, false, ("x-final", "1"));
        await connection.WriteDataAsync(1, "x"u8);
        await connection.WriteTrailersAsync(1, Ok);

        Assert.Equal("x"u8.ToArray(), await stream.ReadResponseAsync());
        Assert.Equal(200, stream.StatusCode);
        Assert.Equal([new("x-final", "1")], stream.ResponseHeaders);
        Assert.Equal([new("grpc-status", "0")], stream.Trailers);
    }

    [Fact]
    public async Task Response_TrailersOnly_EndedWithHeaders()
    {
        await using var server = ScriptedHttp2Server.Start();
        await using var pool = server.CreatePool();
        var (connection, stream) = await OpenAsync(server, pool, endStream: true);

        await connection.WriteResponseHeadersAsync(1, 200, endStream: true, ("content-type", "application/grpc"), ("grpc-status", "5"), ("grpc-message", "not found"));

        await stream.WaitForResponseAsync().Within();
        Assert.True(stream.EndedWithHeaders);
        Assert.Equal([new("content-type", "application/grpc"), new("grpc-status", "5"), new("grpc-message", "not found")], stream.ResponseHeaders);
        Assert.True(stream.TryReadBody(new byte[16], out var read));
        Assert.Equal(0, read);
        Assert.Empty(stream.Trailers);
        stream.Dispose();
        Assert.DoesNotContain(await connection.SyncAsync(), f => f.Type == Http2FrameType.RstStream);
    }

    [Fact]
    public async Task Response_EmptyDataWithEndStream_EndsBodyWithoutTrailers()
    {
        await using var server = ScriptedHttp2Server.Start();
        await using var pool = server.CreatePool();
        var (connection, stream) = await OpenAsync(server, pool, endStream: true);

        await connection.WriteResponseHeadersAsync(1, 200);
        await connection.WriteDataAsync(1, "abc"u8);
        await connection.WriteDataAsync(1, [], endStream: true);

        Assert.Equal("abc"u8.ToArray(), await stream.ReadResponseAsync());
        Assert.Empty(stream.Trailers);
        Assert.False(stream.EndedWithHeaders);
    }

    [Fact]
    public async Task Response_UnknownFrameTypesAndPriorityFrames_Ignored()
    {
        await using var server = ScriptedHttp2Server.Start();
        await using var pool = server.CreatePool();
        var (connection, stream) = await OpenAsync(server, pool, endStream: true);

        await connection.WriteRawAsync(ScriptedConnection.Frame(0xfa, 0xff, 0, "whatever"u8));
        await connection.WriteRawAsync(ScriptedConnection.Frame(0x0b, 0, 1, "altsvc-like"u8));
        await connection.WriteFrameAsync(Http2FrameType.Priority, 0, 1, [0, 0, 0, 0, 16]);
        await connection.WriteResponseHeadersAsync(1, 200, endStream: true, Ok);

        await stream.WaitForResponseAsync().Within();
        Assert.Equal(200, stream.StatusCode);
        Assert.DoesNotContain(await connection.SyncAsync(), f => f.Type is Http2FrameType.GoAway or Http2FrameType.RstStream);
    }

    // --- Stream errors: the stream fails and is reset; the connection and its other streams go on.

    [Theory]
    [InlineData("DataBeforeHeaders", (uint)Http2ErrorCode.ProtocolError)]
    [InlineData("SecondNonFinalHeaderBlock", (uint)Http2ErrorCode.ProtocolError)]
    [InlineData("UpperCaseHeaderName", (uint)Http2ErrorCode.ProtocolError)]
    [InlineData("MissingStatus", (uint)Http2ErrorCode.ProtocolError)]
    [InlineData("StatusNotThreeDigits", (uint)Http2ErrorCode.ProtocolError)]
    [InlineData("PseudoHeaderAfterRegular", (uint)Http2ErrorCode.ProtocolError)]
    [InlineData("PseudoHeaderInTrailers", (uint)Http2ErrorCode.ProtocolError)]
    [InlineData("InformationalWithEndStream", (uint)Http2ErrorCode.ProtocolError)]
    [InlineData("HeadersOver64KiBDecoded", (uint)Http2ErrorCode.ProtocolError)]
    [InlineData("HeadersAfterEndStream", (uint)Http2ErrorCode.StreamClosed)]
    [InlineData("WindowUpdateOfZero", (uint)Http2ErrorCode.ProtocolError)]
    [InlineData("StreamWindowOverflow", (uint)Http2ErrorCode.FlowControlError)]
    [InlineData("PriorityWrongSize", (uint)Http2ErrorCode.FrameSizeError)]
    [InlineData("NulInValue", (uint)Http2ErrorCode.ProtocolError)]
    [InlineData("LineBreakInValue", (uint)Http2ErrorCode.ProtocolError)]
    [InlineData("TrailingSpaceInValue", (uint)Http2ErrorCode.ProtocolError)]
    [InlineData("SpaceInName", (uint)Http2ErrorCode.ProtocolError)]
    [InlineData("NonAsciiInName", (uint)Http2ErrorCode.ProtocolError)]
    [InlineData("EmptyName", (uint)Http2ErrorCode.ProtocolError)]
    [InlineData("ConnectionSpecificHeader", (uint)Http2ErrorCode.ProtocolError)]
    public async Task StreamError_StreamResetOtherStreamCompletes(string @case, uint code)
    {
        var expected = (Http2ErrorCode)code;
        await using var server = ScriptedHttp2Server.Start();
        await using var pool = server.CreatePool();
        // Stream 1 misbehaves; its request stays open for the cases that need it (END_STREAM then more).
        var requestOpen = @case == "HeadersAfterEndStream";
        var (connection, broken) = await OpenAsync(server, pool, endStream: !requestOpen);
        using var healthy = await pool.StartAsync(endStream: true);
        Assert.Equal(3, healthy.Id);
        await connection.NextHeadersAsync(3);
        var big = new string('b', 3000);

        switch (@case)
        {
            case "DataBeforeHeaders":
                await connection.WriteDataAsync(1, "early"u8);
                break;
            case "SecondNonFinalHeaderBlock":
                await connection.WriteResponseHeadersAsync(1, 200);
                await connection.WriteHeadersAsync(1, [("x-more", "1")], endStream: false);
                break;
            case "UpperCaseHeaderName":
                await connection.WriteRawAsync(ScriptedConnection.HeaderFrames(1, [.. connection.EncodeBlock([(":status", "200")]), .. ScriptedConnection.RawLiteral("X-Upper", "1")], endStream: false));
                break;
            case "MissingStatus":
                await connection.WriteHeadersAsync(1, [("content-type", "application/grpc")]);
                break;
            case "StatusNotThreeDigits":
                await connection.WriteRawAsync(ScriptedConnection.HeaderFrames(1, ScriptedConnection.RawLiteral(":status", "2000"), endStream: false));
                break;
            case "PseudoHeaderAfterRegular":
                await connection.WriteRawAsync(ScriptedConnection.HeaderFrames(1, [.. ScriptedConnection.RawLiteral("x-first", "1"), .. ScriptedConnection.RawLiteral(":status", "200")], endStream: false));
                break;
            case "PseudoHeaderInTrailers":
                await connection.WriteResponseHeadersAsync(1, 200);
                await connection.WriteRawAsync(ScriptedConnection.HeaderFrames(1, [.. ScriptedConnection.RawLiteral("grpc-status", "0"), .. ScriptedConnection.RawLiteral(":path", "/x")], endStream: true));
                break;
            case "InformationalWithEndStream":
                await connection.WriteResponseHeadersAsync(1, 100, endStream: true);
                break;
            case "HeadersOver64KiBDecoded":
                // 25 × (5 + 3000 + 32) octets decoded from one literal and 24 one-octet references:
                // small on the wire, over the 64 KiB list limit once decoded.
                await connection.WriteHeadersAsync(1, [(":status", "200"), .. Enumerable.Repeat(("x-big", big), 25)]);
                break;
            case "HeadersAfterEndStream":
                await connection.WriteResponseHeadersAsync(1, 200, endStream: true, Ok);
                await connection.WriteResponseHeadersAsync(1, 200, endStream: true, Ok);
                break;
            case "WindowUpdateOfZero":
                await connection.WriteWindowUpdateAsync(1, 0);
                break;
            case "StreamWindowOverflow":
                await connection.WriteWindowUpdateAsync(1, int.MaxValue);
                break;
            case "PriorityWrongSize":
                await connection.WriteFrameAsync(Http2FrameType.Priority, 0, 1, [0, 0, 0, 0]);
                break;
            case "NulInValue":
            case "LineBreakInValue":
            case "TrailingSpaceInValue":
            case "SpaceInName":
            case "NonAsciiInName":
            case "EmptyName":
            case "ConnectionSpecificHeader":
                var (name, value) = @case switch
                {
                    "NulInValue" => ("x-bad", "a\0b"),
                    "LineBreakInValue" => ("x-bad", "a\r\nx-injected: 1"),
                    "TrailingSpaceInValue" => ("x-bad", "value "),
                    "SpaceInName" => ("x bad", "1"),
                    "NonAsciiInName" => ("x-b\u00e4d", "1"),
                    "EmptyName" => ("", "1"),
                    _ => ("connection", "close"),
                };
                await connection.WriteRawAsync(ScriptedConnection.HeaderFrames(1, [.. connection.EncodeBlock([(":status", "200")]), .. ScriptedConnection.RawLiteral(name, value)], endStream: false));
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(@case));
        }

        var reset = await connection.NextAsync(Http2FrameType.RstStream, 1);
        Assert.Equal(expected, reset.ErrorCode);
        if (!requestOpen)
        {
            // (After END_STREAM the response is complete; whether the consumer still gets it is not asserted here.)
            var error = await broken.ReadResponseAsync().FailsWith<Http2StreamException>();
            Assert.Equal(expected, error.ErrorCode);
        }
        broken.Dispose();

        // The other stream, and the HPACK tables, are fine (the big field is now a one-octet reference).
        await connection.WriteResponseHeadersAsync(3, 200, false, ("x-big", big));
        await connection.WriteDataAsync(3, "ok"u8);
        await connection.WriteTrailersAsync(3, Ok);
        Assert.Equal("ok"u8.ToArray(), await healthy.ReadResponseAsync());
        Assert.Equal([new("x-big", big)], healthy.ResponseHeaders);
        var after = await connection.SyncAsync();
        Assert.DoesNotContain(after, f => f.Type == Http2FrameType.GoAway || (f.Type == Http2FrameType.RstStream && f.StreamId == 3));
    }

    /// <summary>
    /// DATA on a stream the server already ended (half-closed remote) is reset with STREAM_CLOSED,
    /// as RFC 9113 §5.1 requires (as are HEADERS in the same state).
    /// </summary>
    [Fact]
    public async Task StreamError_DataAfterEndStream_ResetWithStreamClosed()
    {
        await using var server = ScriptedHttp2Server.Start();
        await using var pool = server.CreatePool();
        var (connection, stream) = await OpenAsync(server, pool, endStream: false);

        await connection.WriteResponseHeadersAsync(1, 200, endStream: true, Ok);
        await connection.WriteDataAsync(1, "late"u8);

        var reset = await connection.NextAsync(Http2FrameType.RstStream, 1);
        Assert.Equal(Http2ErrorCode.StreamClosed, reset.ErrorCode);
    }

    // --- RST_STREAM from the server.

    [Theory]
    [InlineData((uint)Http2ErrorCode.Cancel, "CANCEL")]
    [InlineData((uint)Http2ErrorCode.RefusedStream, "REFUSED_STREAM")]
    [InlineData((uint)Http2ErrorCode.InternalError, "INTERNAL_ERROR")]
    public async Task RstStream_FromServer_StreamFailsWithItsCode(uint code, string name)
    {
        var errorCode = (Http2ErrorCode)code;
        await using var server = ScriptedHttp2Server.Start();
        await using var pool = server.CreatePool();
        var (connection, stream) = await OpenAsync(server, pool, endStream: false);
        var waiting = stream.WaitForResponseAsync().AsTask();

        await connection.WriteRstStreamAsync(1, errorCode);

        var error = await waiting.FailsWith<Http2StreamException>();
        Assert.Equal(errorCode, error.ErrorCode);
        Assert.Contains(name, error.Message, StringComparison.Ordinal);
        var writeError = await stream.WriteAsync(Sequence([1, 2, 3]), endStream: true).FailsWith<Http2StreamException>();
        Assert.Equal(errorCode, writeError.ErrorCode);
        stream.Dispose();
        var frames = await connection.SyncAsync();
        Assert.DoesNotContain(frames, f => f.StreamId == 1 && f.Type is Http2FrameType.RstStream or Http2FrameType.Data);

        // The connection still serves calls.
        using var next = await pool.StartAsync(endStream: true);
        await connection.NextHeadersAsync(3);
        await connection.WriteResponseHeadersAsync(3, 200, endStream: true, Ok);
        await next.WaitForResponseAsync().Within();
    }

    [Fact]
    public async Task RstStream_NoErrorAfterCompleteResponse_ResponseReadsAndRequestWritesDropped()
    {
        await using var server = ScriptedHttp2Server.Start();
        await using var pool = server.CreatePool();
        var (connection, stream) = await OpenAsync(server, pool, endStream: false);
        await stream.WriteAsync(Sequence([1, 2, 3]), endStream: false).Within();
        await connection.NextAsync(Http2FrameType.Data, 1);

        await connection.WriteResponseHeadersAsync(1, 200);
        await connection.WriteDataAsync(1, "early answer"u8);
        await connection.WriteTrailersAsync(1, ("grpc-status", "3"));
        await connection.WriteRstStreamAsync(1, Http2ErrorCode.NoError);
        await connection.SyncAsync(); // the client has processed the reset

        await stream.WriteAsync(Sequence([4, 5, 6]), endStream: false).Within();
        await stream.WriteAsync(Sequence([7]), endStream: true).Within();
        await stream.EndRequestAsync().Within();
        Assert.Equal("early answer"u8.ToArray(), await stream.ReadResponseAsync());
        Assert.Equal([new("grpc-status", "3")], stream.Trailers);
        stream.Dispose();
        var frames = await connection.SyncAsync();
        Assert.DoesNotContain(frames, f => f.StreamId == 1);
    }

    // --- GOAWAY from the server.

    [Fact]
    public async Task GoAway_LastStreamOne_StreamThreeRefusedStreamOneCompletesNextCallOnNewConnection()
    {
        await using var server = ScriptedHttp2Server.Start();
        await using var pool = server.CreatePool();
        var (connection, first) = await OpenAsync(server, pool, endStream: true);
        var second = await pool.StartAsync(endStream: true);
        await connection.NextHeadersAsync(3);

        await connection.WriteGoAwayAsync(1, Http2ErrorCode.NoError, "shutting down");

        var refused = await second.WaitForResponseAsync().FailsWith<Http2StreamException>();
        Assert.Equal(Http2ErrorCode.RefusedStream, refused.ErrorCode);
        second.Dispose();
        // Still open while stream 1 runs.
        Assert.DoesNotContain(await connection.SyncAsync(), f => f.Type is Http2FrameType.RstStream or Http2FrameType.GoAway);
        Assert.False(connection.Closed.IsCompleted);

        // New calls go to a new connection.
        var third = await pool.StartAsync(endStream: true);
        var connection2 = await server.AcceptAndHandshakeAsync();
        Assert.Equal(1, third.Id);
        await connection2.NextHeadersAsync(1);

        // Stream 1 completes; then the old connection closes.
        await connection.WriteResponseHeadersAsync(1, 200, false);
        await connection.WriteDataAsync(1, "last"u8);
        await connection.WriteTrailersAsync(1, Ok);
        Assert.Equal("last"u8.ToArray(), await first.ReadResponseAsync());
        Assert.Equal([new("grpc-status", "0")], first.Trailers);
        first.Dispose();
        await connection.WaitForCloseAsync();

        await connection2.WriteResponseHeadersAsync(1, 200, endStream: true, Ok);
        await third.WaitForResponseAsync().Within();
        third.Dispose();
        Assert.Equal(1, pool.ConnectionCount);
        Assert.Equal(2, server.AcceptedCount);
    }

    [Fact]
    public async Task GoAway_NoStreamsOpen_ConnectionClosesAndNextCallReconnects()
    {
        await using var server = ScriptedHttp2Server.Start();
        await using var pool = server.CreatePool();
        var (connection, stream) = await OpenAsync(server, pool, endStream: true);
        await connection.WriteResponseHeadersAsync(1, 200, endStream: true, Ok);
        await stream.WaitForResponseAsync().Within();
        stream.Dispose();

        await connection.WriteGoAwayAsync(1, Http2ErrorCode.NoError);
        await connection.WaitForCloseAsync();

        using var next = await pool.StartAsync(endStream: true);
        var connection2 = await server.AcceptAndHandshakeAsync();
        await connection2.NextHeadersAsync(1);
        await connection2.WriteResponseHeadersAsync(1, 200, endStream: true, Ok);
        await next.WaitForResponseAsync().Within();
    }

    // --- Flow control: what we send.

    [Fact]
    public async Task SendFlowControl_StreamWindowTen_DataNeverExceedsGrantedWindow()
    {
        await using var server = ScriptedHttp2Server.Start();
        await using var pool = server.CreatePool();
        var (connection, stream) = await OpenAsync(server, pool, endStream: false, (Http2Protocol.SettingInitialWindowSize, 10));
        var body = Pattern(100);

        var write = stream.WriteAsync(Sequence(body), endStream: true).AsTask();

        var received = new MemoryStream();
        long window = 10;
        int[] grants = [7, 13, 1, 30, 100];
        var granted = 0;
        while (true)
        {
            var data = await connection.NextAsync(Http2FrameType.Data, 1);
            Assert.True(data.Payload.Length <= window, $"A {data.Payload.Length}-byte DATA frame with a window of {window}.");
            window -= data.Payload.Length;
            received.Write(data.Payload);
            if (data.EndStream)
                break;
            if (window == 0)
            {
                // Nothing more goes out until we grant more.
                Assert.DoesNotContain(await connection.SyncAsync(), f => f.Type == Http2FrameType.Data);
                Assert.False(write.IsCompleted);
                await connection.WriteWindowUpdateAsync(1, grants[granted]);
                window += grants[granted++];
            }
        }
        await write.Within();
        Assert.Equal(body, received.ToArray());
        Assert.True(granted >= 4);
    }

    [Fact]
    public async Task SendFlowControl_ConnectionWindow_BodyOverDefaultWaitsForConnectionUpdate()
    {
        await using var server = ScriptedHttp2Server.Start();
        await using var pool = server.CreatePool();
        var (connection, stream) = await OpenAsync(server, pool, endStream: false, (Http2Protocol.SettingInitialWindowSize, 1024 * 1024));
        var body = Pattern(100_000);

        var write = stream.WriteAsync(Sequence(body), endStream: true).AsTask();

        var received = new MemoryStream();
        while (received.Length < 65_535)
        {
            var data = await connection.NextAsync(Http2FrameType.Data, 1);
            Assert.True(data.Payload.Length <= 16_384);
            Assert.False(data.EndStream);
            received.Write(data.Payload);
        }
        Assert.Equal(65_535, received.Length);
        // The stream's window is not what blocks it.
        await connection.WriteWindowUpdateAsync(1, 1_000_000);
        Assert.DoesNotContain(await connection.SyncAsync(), f => f.Type == Http2FrameType.Data);
        Assert.False(write.IsCompleted);

        await connection.WriteWindowUpdateAsync(0, 20_000);
        while (received.Length < 65_535 + 20_000)
        {
            var data = await connection.NextAsync(Http2FrameType.Data, 1);
            Assert.True(received.Length + data.Payload.Length <= 85_535);
            received.Write(data.Payload);
        }
        Assert.DoesNotContain(await connection.SyncAsync(), f => f.Type == Http2FrameType.Data);

        await connection.WriteWindowUpdateAsync(0, 1_000_000);
        while (true)
        {
            var data = await connection.NextAsync(Http2FrameType.Data, 1);
            received.Write(data.Payload);
            if (data.EndStream)
                break;
        }
        await write.Within();
        Assert.Equal(body, received.ToArray());
    }

    [Fact]
    public async Task SendFlowControl_InitialWindowSizeChangedMidStream_DecreaseThenIncreaseRespected()
    {
        await using var server = ScriptedHttp2Server.Start();
        await using var pool = server.CreatePool();
        var (connection, stream) = await OpenAsync(server, pool, endStream: false, (Http2Protocol.SettingInitialWindowSize, 100));
        var body = Pattern(300);
        var received = new MemoryStream();
        long window = 100;

        var write = stream.WriteAsync(Sequence(body), endStream: true).AsTask();
        await ReceiveUntilWindowUsedAsync();
        Assert.Equal(100, received.Length);

        // 100 → 50: the stream's window goes to -50.
        await connection.WriteSettingsAsync((Http2Protocol.SettingInitialWindowSize, 50));
        await connection.NextAsync(f => f.Type == Http2FrameType.Settings && f.IsAck, "SETTINGS ACK");
        window -= 50;
        Assert.DoesNotContain(await connection.SyncAsync(), f => f.Type == Http2FrameType.Data);

        // +80: 30 may go.
        await connection.WriteWindowUpdateAsync(1, 80);
        window += 80;
        await ReceiveUntilWindowUsedAsync();
        Assert.Equal(130, received.Length);
        Assert.DoesNotContain(await connection.SyncAsync(), f => f.Type == Http2FrameType.Data);
        Assert.False(write.IsCompleted);

        // 50 → 250: +200, enough for the remaining 170.
        await connection.WriteSettingsAsync((Http2Protocol.SettingInitialWindowSize, 250));
        window += 200;
        while (true)
        {
            var data = await connection.NextAsync(Http2FrameType.Data, 1);
            Assert.True(data.Payload.Length <= window);
            window -= data.Payload.Length;
            received.Write(data.Payload);
            if (data.EndStream)
                break;
        }
        await write.Within();
        Assert.Equal(body, received.ToArray());

        async Task ReceiveUntilWindowUsedAsync()
        {
            while (window > 0)
            {
                var data = await connection.NextAsync(Http2FrameType.Data, 1);
                Assert.True(data.Payload.Length <= window, $"A {data.Payload.Length}-byte DATA frame with a window of {window}.");
                window -= data.Payload.Length;
                received.Write(data.Payload);
            }
        }
    }

    [Fact]
    public async Task SendFlowControl_MaxFrameSize_DataFramesWithinIt()
    {
        await using var server = ScriptedHttp2Server.Start();
        await using var pool = server.CreatePool();
        var (connection, stream) = await OpenAsync(server, pool, endStream: false,
            (Http2Protocol.SettingInitialWindowSize, 1024 * 1024), (Http2Protocol.SettingMaxFrameSize, 20_000));
        await connection.WriteWindowUpdateAsync(0, 1024 * 1024);
        await connection.SyncAsync();
        var body = Pattern(50_000);

        await stream.WriteAsync(Sequence(body), endStream: true).Within();

        var received = new MemoryStream();
        var sizes = new List<int>();
        while (true)
        {
            var data = await connection.NextAsync(Http2FrameType.Data, 1);
            sizes.Add(data.Payload.Length);
            received.Write(data.Payload);
            if (data.EndStream)
                break;
        }
        Assert.All(sizes, size => Assert.True(size <= 20_000));
        Assert.Contains(sizes, size => size > 16_384); // the larger limit is used
        Assert.Equal(body, received.ToArray());
    }

    [Fact]
    public async Task SendHeaders_LargeBlock_SplitIntoContinuationsWithinMaxFrameSize()
    {
        await using var server = ScriptedHttp2Server.Start();
        await using var pool = server.CreatePool();
        var big = new string('v', 40_000);
        (string, string, HpackIndexing)[] headers = [("content-type", "application/grpc", HpackIndexing.Index), ("x-big", big, HpackIndexing.WithoutIndexing)];

        // Default limit: 16,384.
        using var first = await pool.StartAsync(endStream: true, headers: headers);
        var connection = await server.AcceptAsync();
        await CheckBlockAsync(1, 16_384);

        // After SETTINGS_MAX_FRAME_SIZE 20,000.
        await connection.HandshakeAsync((Http2Protocol.SettingMaxFrameSize, 20_000));
        using var second = await pool.StartAsync(endStream: true, headers: headers);
        await CheckBlockAsync(3, 20_000);

        async Task CheckBlockAsync(int streamId, int limit)
        {
            var frames = new List<Http2Frame> { await connection.NextAsync(Http2FrameType.Headers, streamId) };
            while (!frames[^1].HasFlag(Http2Protocol.FlagEndHeaders))
                frames.Add(await connection.NextAsync(Http2FrameType.Continuation, streamId));
            Assert.True(frames.Count >= 3);
            Assert.All(frames, f => Assert.True(f.Payload.Length <= limit));
            Assert.Equal(limit, frames[0].Payload.Length);
            Assert.True(frames[0].EndStream);
            Assert.All(frames.Skip(1), f => Assert.Equal(Http2FrameType.Continuation, f.Type));
            Assert.All(frames.SkipLast(1), f => Assert.False(f.HasFlag(Http2Protocol.FlagEndHeaders)));
            Assert.Equal(big, frames[^1].Header("x-big"));
        }
    }

    [Fact]
    public async Task SendHeaders_HeaderTableSizeZero_BlockStartsWithSizeUpdateAndIndexesNothing()
    {
        await using var server = ScriptedHttp2Server.Start();
        await using var pool = server.CreatePool();
        var (connection, first) = await OpenAsync(server, pool, endStream: true, (Http2Protocol.SettingHeaderTableSize, 0));

        using var second = await pool.StartAsync(endStream: true, headers: [("x-repeat", "same", HpackIndexing.Index)]);
        var block = await connection.NextHeadersAsync(3);
        Assert.Equal([0], block.SizeUpdates);
        Assert.DoesNotContain(block.Headers!, f => f.Representation == HpackRepresentation.IncrementalIndexing);
        Assert.Equal("same", block.Header("x-repeat"));

        using var third = await pool.StartAsync(endStream: true, headers: [("x-repeat", "same", HpackIndexing.Index)]);
        var block3 = await connection.NextHeadersAsync(5);
        Assert.Empty(block3.SizeUpdates!);
        Assert.Equal("same", block3.Header("x-repeat"));
        Assert.DoesNotContain(block3.Headers!, f => f.Representation == HpackRepresentation.IncrementalIndexing);
        first.Dispose();
    }

    [Fact]
    public async Task SendHeaders_WriterThrows_BlockStillSentStreamResetTablesInStep()
    {
        await using var server = ScriptedHttp2Server.Start();
        await using var pool = server.CreatePool();
        var (connection, first) = await OpenAsync(server, pool, endStream: true);

        await Assert.ThrowsAsync<InvalidOperationException>(() => pool.StartStreamAsync(DefaultPath, 0, static (writer, _) =>
        {
            writer.Write("x-added-before-throw", "1", HpackIndexing.Index);
            throw new InvalidOperationException("boom");
        }, endStream: false, send: true, CancellationToken.None).AsTask()).Within();

        var partial = await connection.NextHeadersAsync(3);
        Assert.True(partial.EndStream);
        Assert.Equal("1", partial.Header("x-added-before-throw"));
        Assert.Equal(Http2ErrorCode.Cancel, (await connection.NextAsync(Http2FrameType.RstStream, 3)).ErrorCode);

        using var next = await pool.StartAsync(endStream: true, headers: [("x-added-before-throw", "1", HpackIndexing.Index)]);
        var block = await connection.NextHeadersAsync(5);
        Assert.Equal(HpackRepresentation.Indexed, block.Headers!.Single(f => f.Name == "x-added-before-throw").Representation);
        first.Dispose();
    }

    // --- Flow control: what we receive.

    [Fact]
    public async Task ReceiveFlowControl_ServerOverrunsStreamWindow_StreamResetWithFlowControlError()
    {
        await using var server = ScriptedHttp2Server.Start();
        await using var pool = server.CreatePool();
        var (connection, stream) = await OpenAsync(server, pool, endStream: true);
        await connection.WriteResponseHeadersAsync(1, 200);
        await stream.WaitForResponseAsync().Within();

        await connection.WriteDataChunkedAsync(1, Pattern(1024 * 1024)); // exactly the window
        await connection.WriteDataAsync(1, [42]); // one over

        var reset = await connection.NextAsync(Http2FrameType.RstStream, 1);
        Assert.Equal(Http2ErrorCode.FlowControlError, reset.ErrorCode);
        var error = await stream.ReadBodyAsync(64 * 1024).FailsWith<Http2StreamException>();
        Assert.Equal(Http2ErrorCode.FlowControlError, error.ErrorCode);
    }

    [Fact]
    public async Task ReceiveFlowControl_ConsumerReadsOverHalfTheWindow_StreamWindowUpdateSent()
    {
        await using var server = ScriptedHttp2Server.Start();
        await using var pool = server.CreatePool();
        var (connection, stream) = await OpenAsync(server, pool, endStream: true);
        await connection.WriteResponseHeadersAsync(1, 200);
        var body = Pattern(600 * 1024);
        await connection.WriteDataChunkedAsync(1, body);
        await stream.WaitForResponseAsync().Within();

        var firstPart = await stream.ReadBodyExactlyAsync(500 * 1024);
        Assert.DoesNotContain(await connection.SyncAsync(), f => f.Type == Http2FrameType.WindowUpdate && f.StreamId == 1);

        var rest = await stream.ReadBodyExactlyAsync(100 * 1024);
        var update = await connection.NextAsync(Http2FrameType.WindowUpdate, 1);
        Assert.InRange(update.WindowIncrement, 512 * 1024, 600 * 1024);
        Assert.Equal(body, firstPart.Concat(rest).ToArray());
    }

    [Fact]
    public async Task ReceiveFlowControl_DataAcrossStreams_ConnectionWindowUpdateSent()
    {
        await using var server = ScriptedHttp2Server.Start();
        await using var pool = server.CreatePool();
        var (connection, first) = await OpenAsync(server, pool, endStream: true);
        var streams = new List<Http2ClientStream> { first };
        for (var i = 1; i < 5; i++)
            streams.Add(await pool.StartAsync(endStream: true));

        // 5 × 900 KiB: within every stream's window, over a quarter of the connection's 16 MiB.
        foreach (var stream in streams)
        {
            await connection.WriteResponseHeadersAsync(stream.Id, 200);
            await connection.WriteDataChunkedAsync(stream.Id, Pattern(900 * 1024));
        }

        var update = await connection.NextAsync(f => f.Type == Http2FrameType.WindowUpdate && f.StreamId == 0, "connection WINDOW_UPDATE");
        Assert.InRange(update.WindowIncrement, 4 * 1024 * 1024, 5 * 900 * 1024);
        Assert.DoesNotContain(await connection.SyncAsync(), f => f.Type is Http2FrameType.RstStream or Http2FrameType.GoAway);
        foreach (var stream in streams)
            stream.Dispose();
    }

    /// <summary>
    /// Padding is flow-controlled (RFC 9113 §6.1): the client credits it back to the stream's
    /// window as it arrives, so a heavily padded stream never stalls (found by this test: padding
    /// used to shrink the window for good).
    /// </summary>
    [Fact]
    public async Task ReceiveFlowControl_PaddedData_PaddingCreditedBackNoStall()
    {
        await using var server = ScriptedHttp2Server.Start();
        await using var pool = server.CreatePool();
        var (connection, stream) = await OpenAsync(server, pool, endStream: true);
        await connection.WriteResponseHeadersAsync(1, 200);
        await stream.WaitForResponseAsync().Within();

        // 2,100 frames of 257 flow-controlled octets (pad length, 1 body byte, 255 of padding):
        // 539,700 of the 1 MiB window used for 2,100 body bytes, 537,600 of it padding.
        const int Frames = 2100;
        var padded = new MemoryStream();
        for (var i = 0; i < Frames; i++)
            padded.Write(ScriptedConnection.DataFrame(1, [(byte)i], padLength: 255));
        await connection.WriteRawAsync(padded.ToArray());
        Assert.Equal(Frames, (await stream.ReadBodyExactlyAsync(Frames)).Length);

        // The rest of the window as plain data; the consumer reads it all.
        var remaining = 1024 * 1024 - Frames * 257;
        await connection.WriteDataChunkedAsync(1, Pattern(remaining));
        await stream.ReadBodyExactlyAsync(remaining);
        Assert.False(stream.TryReadBody(new byte[1], out _));

        // The server's view of the window is now 0 and the consumer has read everything: the client
        // must open the window, or the stream is stuck.
        var frames = await connection.SyncAsync();
        Assert.Contains(frames, f => f.Type == Http2FrameType.WindowUpdate && f.StreamId == 1);
    }

    // --- PING and SETTINGS.

    [Fact]
    public async Task Ping_Answered_WithSameOpaqueData()
    {
        await using var server = ScriptedHttp2Server.Start();
        await using var pool = server.CreatePool();
        var (connection, stream) = await OpenAsync(server, pool, endStream: true);
        byte[] opaque = [1, 2, 3, 4, 5, 6, 7, 0xff];

        await connection.WritePingAsync(opaque);

        var ack = await connection.NextAsync(f => f.Type == Http2FrameType.Ping, "PING");
        Assert.True(ack.IsAck);
        Assert.Equal(0, ack.StreamId);
        Assert.Equal(opaque, ack.Payload);

        // A PING ACK from the server is not answered.
        await connection.WritePingAsync(opaque, ack: true);
        Assert.DoesNotContain(await connection.SyncAsync(), f => f.Type == Http2FrameType.Ping);
        stream.Dispose();
    }

    [Fact]
    public async Task Settings_Acknowledged_EveryTime()
    {
        await using var server = ScriptedHttp2Server.Start();
        await using var pool = server.CreatePool();
        var (connection, stream) = await OpenAsync(server, pool, endStream: true);

        await connection.WriteSettingsAsync((Http2Protocol.SettingMaxConcurrentStreams, 50), (0x99, 12345)); // unknown setting ignored
        var ack = await connection.NextAsync(f => f.Type == Http2FrameType.Settings, "SETTINGS");
        Assert.True(ack.IsAck);
        Assert.Empty(ack.Payload);
        await connection.WriteSettingsAsync();
        Assert.True((await connection.NextAsync(f => f.Type == Http2FrameType.Settings, "SETTINGS")).IsAck);
        // Our own SETTINGS ACKed by the server: no answer.
        await connection.WriteSettingsAckAsync();
        Assert.DoesNotContain(await connection.SyncAsync(), f => f.Type is Http2FrameType.Settings or Http2FrameType.GoAway);
        stream.Dispose();
    }

    // --- Concurrency limits and the pool.

    [Fact]
    public async Task Pool_MaxConcurrentStreamsOne_SecondStreamOpensSecondConnection()
    {
        await using var server = ScriptedHttp2Server.Start();
        await using var pool = server.CreatePool();
        var (connection, first) = await OpenAsync(server, pool, endStream: false, (Http2Protocol.SettingMaxConcurrentStreams, 1));

        var second = await pool.StartAsync(endStream: true);
        var connection2 = await server.AcceptAndHandshakeAsync();
        Assert.Equal(1, second.Id);
        await connection2.NextHeadersAsync(1);
        Assert.Equal(2, pool.ConnectionCount);
        Assert.DoesNotContain(await connection.SyncAsync(), f => f.Type == Http2FrameType.Headers);

        // Once the first stream is done, its connection takes the next one.
        await first.EndRequestAsync().Within();
        await connection.WriteResponseHeadersAsync(1, 200, endStream: true, Ok);
        await first.WaitForResponseAsync().Within();
        first.Dispose();
        using var third = await pool.StartAsync(endStream: true);
        Assert.Equal(3, third.Id);
        await connection.NextHeadersAsync(3);
        Assert.Equal(2, server.AcceptedCount);
        second.Dispose();
    }

    [Fact]
    public async Task Pool_FiftyConcurrentStartsOnColdPool_ShareOneConnection()
    {
        await using var server = ScriptedHttp2Server.Start();
        await using var pool = server.CreatePool();

        var starts = Enumerable.Range(0, 50).Select(_ => Task.Run(() => pool.StartAsync(endStream: true))).ToArray();
        var streams = await Task.WhenAll(starts).Within();

        Assert.Equal(Enumerable.Range(0, 50).Select(i => 2 * i + 1), streams.Select(s => s.Id).Order());
        Assert.Equal(1, pool.ConnectionCount);
        var connection = await server.AcceptAndHandshakeAsync();
        for (var i = 0; i < 50; i++)
            await connection.NextHeadersAsync(2 * i + 1);
        Assert.Equal(1, server.AcceptedCount);
        Assert.False(server.HasUnclaimedConnection);
        foreach (var stream in streams)
            stream.Dispose();
    }

    // --- Connection errors: GOAWAY with the error, every open stream fails, the next call reconnects.

    [Theory]
    [InlineData("FrameOverMaxFrameSize", (uint)Http2ErrorCode.FrameSizeError)]
    [InlineData("PushPromise", (uint)Http2ErrorCode.ProtocolError)]
    [InlineData("ContinuationWithoutHeaders", (uint)Http2ErrorCode.ProtocolError)]
    [InlineData("OtherFrameInsideHeaderBlock", (uint)Http2ErrorCode.ProtocolError)]
    [InlineData("ContinuationOnOtherStream", (uint)Http2ErrorCode.ProtocolError)]
    [InlineData("BadHpackIndexZero", (uint)Http2ErrorCode.CompressionError)]
    [InlineData("BadHpackIndexBeyondTable", (uint)Http2ErrorCode.CompressionError)]
    [InlineData("BadHpackTruncated", (uint)Http2ErrorCode.CompressionError)]
    [InlineData("HeadersOnIdleStream", (uint)Http2ErrorCode.ProtocolError)]
    [InlineData("HeadersOnEvenStream", (uint)Http2ErrorCode.ProtocolError)]
    [InlineData("DataOnStreamZero", (uint)Http2ErrorCode.ProtocolError)]
    [InlineData("SettingsOddLength", (uint)Http2ErrorCode.FrameSizeError)]
    [InlineData("SettingsOnStream", (uint)Http2ErrorCode.ProtocolError)]
    [InlineData("SettingsAckWithPayload", (uint)Http2ErrorCode.FrameSizeError)]
    [InlineData("InitialWindowSizeOverMax", (uint)Http2ErrorCode.FlowControlError)]
    [InlineData("MaxFrameSizeTooSmall", (uint)Http2ErrorCode.ProtocolError)]
    [InlineData("ConnectionWindowOverflow", (uint)Http2ErrorCode.FlowControlError)]
    [InlineData("ConnectionWindowUpdateOfZero", (uint)Http2ErrorCode.ProtocolError)]
    [InlineData("PingWrongSize", (uint)Http2ErrorCode.FrameSizeError)]
    [InlineData("RstStreamOnStreamZero", (uint)Http2ErrorCode.ProtocolError)]
    [InlineData("GoAwayTooShort", (uint)Http2ErrorCode.FrameSizeError)]
    [InlineData("PaddingLongerThanFrame", (uint)Http2ErrorCode.ProtocolError)]
    [InlineData("PriorityOnStreamZero", (uint)Http2ErrorCode.ProtocolError)]
    [InlineData("ServerEnablesPush", (uint)Http2ErrorCode.ProtocolError)]
    public async Task ConnectionError_GoAwaySentAndEveryOpenStreamFails(string @case, uint code)
    {
        var expected = (Http2ErrorCode)code;
        await using var server = ScriptedHttp2Server.Start();
        await using var pool = server.CreatePool();
        var (connection, waitingForHeaders) = await OpenAsync(server, pool, endStream: true);
        var waitingForBody = await pool.StartAsync(endStream: false);
        await connection.NextHeadersAsync(3);
        await connection.WriteResponseHeadersAsync(3, 200);
        await waitingForBody.WaitForResponseAsync().Within();
        var headersWait = waitingForHeaders.WaitForResponseAsync().AsTask();
        var bodyWait = waitingForBody.ReadBodyAsync();

        await connection.WriteRawAsync(@case switch
        {
            "FrameOverMaxFrameSize" => ScriptedConnection.DataFrame(3, new byte[16_385]),
            "PushPromise" => ScriptedConnection.Frame(Http2FrameType.PushPromise, Http2Protocol.FlagEndHeaders, 1, [0, 0, 0, 2, .. connection.EncodeBlock([(":method", "GET"), (":path", "/pushed")])]),
            "ContinuationWithoutHeaders" => ScriptedConnection.Frame(Http2FrameType.Continuation, Http2Protocol.FlagEndHeaders, 1, connection.EncodeBlock([(":status", "200")])),
            "OtherFrameInsideHeaderBlock" => [.. ScriptedConnection.HeaderFrames(1, connection.EncodeBlock([(":status", "200")]), endStream: false, endHeaders: false),
                .. ScriptedConnection.Frame(Http2FrameType.Ping, 0, 0, new byte[8])],
            "ContinuationOnOtherStream" => [.. ScriptedConnection.HeaderFrames(1, connection.EncodeBlock([(":status", "200")]), endStream: false, endHeaders: false),
                .. ScriptedConnection.Frame(Http2FrameType.Continuation, Http2Protocol.FlagEndHeaders, 3, [])],
            "BadHpackIndexZero" => ScriptedConnection.HeaderFrames(1, [0x80], endStream: false),
            "BadHpackIndexBeyondTable" => ScriptedConnection.HeaderFrames(1, [0x88, 0xbf], endStream: false),
            "BadHpackTruncated" => ScriptedConnection.HeaderFrames(1, [0x88, 0x40, 0x05, (byte)'x'], endStream: false),
            "HeadersOnIdleStream" => ScriptedConnection.HeaderFrames(7, connection.EncodeBlock([(":status", "200")]), endStream: true),
            "HeadersOnEvenStream" => ScriptedConnection.HeaderFrames(2, connection.EncodeBlock([(":status", "200")]), endStream: true),
            "DataOnStreamZero" => ScriptedConnection.DataFrame(0, [1, 2, 3]),
            "SettingsOddLength" => ScriptedConnection.Frame(Http2FrameType.Settings, 0, 0, [0, 3, 0, 0, 0]),
            "SettingsOnStream" => ScriptedConnection.Frame(Http2FrameType.Settings, 0, 1, []),
            "SettingsAckWithPayload" => ScriptedConnection.Frame(Http2FrameType.Settings, Http2Protocol.FlagAck, 0, [0, 3, 0, 0, 0, 1]),
            "InitialWindowSizeOverMax" => ScriptedConnection.SettingsFrame((Http2Protocol.SettingInitialWindowSize, 0x8000_0000)),
            "MaxFrameSizeTooSmall" => ScriptedConnection.SettingsFrame((Http2Protocol.SettingMaxFrameSize, 16_383)),
            "ConnectionWindowOverflow" => ScriptedConnection.WindowUpdateFrame(0, int.MaxValue),
            "ConnectionWindowUpdateOfZero" => ScriptedConnection.WindowUpdateFrame(0, 0),
            "PingWrongSize" => ScriptedConnection.Frame(Http2FrameType.Ping, 0, 0, new byte[7]),
            "RstStreamOnStreamZero" => ScriptedConnection.RstStreamFrame(0, Http2ErrorCode.Cancel),
            "GoAwayTooShort" => ScriptedConnection.Frame(Http2FrameType.GoAway, 0, 0, [0, 0, 0, 1]),
            "PaddingLongerThanFrame" => ScriptedConnection.Frame(Http2FrameType.Data, Http2Protocol.FlagPadded, 3, [10, 1, 2]),
            "PriorityOnStreamZero" => ScriptedConnection.Frame(Http2FrameType.Priority, 0, 0, [0, 0, 0, 1, 16]),
            "ServerEnablesPush" => ScriptedConnection.SettingsFrame((Http2Protocol.SettingEnablePush, 1)),
            _ => throw new ArgumentOutOfRangeException(nameof(@case)),
        });

        var goAway = await connection.NextAsync(Http2FrameType.GoAway);
        Assert.Equal(expected, goAway.ErrorCode);
        Assert.Equal(0, goAway.LastStreamId);
        await connection.WaitForCloseAsync();
        var headersError = await headersWait.FailsWith<Http2ConnectionException>();
        Assert.Equal(expected, headersError.ErrorCode);
        var bodyError = await bodyWait.FailsWith<Http2ConnectionException>();
        Assert.Equal(expected, bodyError.ErrorCode);
        Assert.Equal(expected, (await waitingForBody.WriteAsync(Sequence([1]), endStream: true).FailsWith<Http2ConnectionException>()).ErrorCode);
        waitingForHeaders.Dispose();
        waitingForBody.Dispose();

        // The next call opens a new connection.
        using var next = await pool.StartAsync(endStream: true);
        var connection2 = await server.AcceptAndHandshakeAsync();
        await connection2.NextHeadersAsync(1);
        await connection2.WriteResponseHeadersAsync(1, 200, endStream: true, Ok);
        await next.WaitForResponseAsync().Within();
        Assert.Equal(1, pool.ConnectionCount);
    }

    [Theory]
    [InlineData("Closed", "The backend closed the connection.")]
    [InlineData("ClosedMidFrame", "The backend closed the connection in the middle of a frame.")]
    [InlineData("ClosedMidFrameHeader", "The backend closed the connection in the middle of a frame.")]
    [InlineData("Reset", "Reading from the backend failed")]
    public async Task ConnectionLost_WaitsFailNextCallReconnects(string @case, string message)
    {
        await using var server = ScriptedHttp2Server.Start();
        await using var pool = server.CreatePool();
        var (connection, waitingForHeaders) = await OpenAsync(server, pool, endStream: true);
        var waitingForBody = await pool.StartAsync(endStream: false);
        await connection.NextHeadersAsync(3);
        await connection.WriteResponseHeadersAsync(3, 200);
        await connection.WriteDataAsync(3, "partial"u8);
        await waitingForBody.WaitForResponseAsync().Within();
        await waitingForBody.WaitForBodyAsync().Within(); // "partial" is buffered before the connection goes
        var headersWait = waitingForHeaders.WaitForResponseAsync().AsTask();

        switch (@case)
        {
            case "Closed":
                connection.ShutdownSend();
                break;
            case "ClosedMidFrame":
                await connection.WriteRawAsync(ScriptedConnection.DataFrame(3, Pattern(100)).AsMemory(0, 50));
                connection.ShutdownSend();
                break;
            case "ClosedMidFrameHeader":
                await connection.WriteRawAsync(ScriptedConnection.DataFrame(3, Pattern(100)).AsMemory(0, 5));
                connection.ShutdownSend();
                break;
            case "Reset":
                connection.Abort();
                break;
        }

        var headersError = await headersWait.FailsWith<Http2ConnectionException>();
        Assert.StartsWith(message, headersError.Message, StringComparison.Ordinal);
        // Body bytes already received are still read, then the failure.
        var buffer = new byte[100];
        await waitingForBody.WaitForBodyAsync().Within();
        Assert.True(waitingForBody.TryReadBody(buffer, out var read));
        Assert.Equal("partial"u8.ToArray(), buffer[..read]);
        var bodyError = await waitingForBody.ReadBodyAsync().FailsWith<Http2ConnectionException>();
        Assert.StartsWith(message, bodyError.Message, StringComparison.Ordinal);
        if (@case != "Reset")
            await connection.WaitForCloseAsync();
        waitingForHeaders.Dispose();
        waitingForBody.Dispose();

        using var next = await pool.StartAsync(endStream: true);
        var connection2 = await server.AcceptAndHandshakeAsync();
        await connection2.NextHeadersAsync(1);
        await connection2.WriteResponseHeadersAsync(1, 200, endStream: true, Ok);
        await next.WaitForResponseAsync().Within();
        Assert.Equal(2, server.AcceptedCount);
    }

    /// <summary>
    /// One read holding both the end of a stream (its response, an RST_STREAM, or a GOAWAY refusing
    /// it) and a frame that breaks the connection: the stream's consumer is still woken (found by
    /// this test: it used to wait forever, the stream having left the table before the failure).
    /// </summary>
    /// <remarks>The three cases run side by side, so that a regression costs one timeout, not three.</remarks>
    [Fact]
    public async Task ConnectionError_InSameReadAsStreamEnd_ConsumerStillWoken()
    {
        string[] cases = ["Response", "RstStream", "GoAwayRefusal"];
        var outcomes = await Task.WhenAll(cases.Select(RunAsync));

        Assert.Equal(cases.Select(c => $"{c}: woken"), outcomes);

        static async Task<string> RunAsync(string @case)
        {
            await using var server = ScriptedHttp2Server.Start();
            await using var pool = server.CreatePool();
            var (connection, stream) = await OpenAsync(server, pool, endStream: true);
            var waiting = stream.WaitForResponseAsync().AsTask();

            byte[] end = @case switch
            {
                "Response" => ScriptedConnection.HeaderFrames(1, connection.EncodeBlock([(":status", "200"), ("grpc-status", "0")]), endStream: true),
                "RstStream" => ScriptedConnection.RstStreamFrame(1, Http2ErrorCode.Cancel),
                "GoAwayRefusal" => ScriptedConnection.GoAwayFrame(0, Http2ErrorCode.NoError),
                _ => throw new ArgumentOutOfRangeException(nameof(@case)),
            };
            // One write: one read on the client's side.
            byte[] both = [.. end, .. ScriptedConnection.Frame(Http2FrameType.PushPromise, Http2Protocol.FlagEndHeaders, 1, [0, 0, 0, 2, 0x82])];
            await connection.WriteRawAsync(both);
            Assert.Equal(Http2ErrorCode.ProtocolError, (await connection.NextAsync(Http2FrameType.GoAway)).ErrorCode);
            await connection.WaitForCloseAsync();

            try
            {
                await waiting.WaitAsync(ScriptedHttp2Server.Timeout);
            }
            catch (TimeoutException)
            {
                return $"{@case}: WaitForResponseAsync never woken";
            }
            catch (Exception)
            {
                // Failing is fine; hanging is not.
            }
            return $"{@case}: woken";
        }
    }

    /// <summary>
    /// A response received in full (END_STREAM) survives the connection failing before the request
    /// side ends: <see cref="Http2ClientStream.TryReadBody"/> reports the end of the body and the
    /// trailers it has, not the connection's error (found by this test).
    /// </summary>
    [Fact]
    public async Task ConnectionClosed_AfterCompleteResponse_ResponseStillReadable()
    {
        await using var server = ScriptedHttp2Server.Start();
        await using var pool = server.CreatePool();
        var (connection, stream) = await OpenAsync(server, pool, endStream: false);
        await connection.WriteResponseHeadersAsync(1, 200);
        await connection.WriteDataAsync(1, "complete"u8);
        await connection.WriteTrailersAsync(1, ("grpc-status", "7"));
        await connection.SyncAsync();

        connection.ShutdownSend();
        await connection.WaitForCloseAsync();

        await stream.WaitForResponseAsync().Within();
        Assert.Equal("complete"u8.ToArray(), await stream.ReadBodyAsync());
        Assert.Equal([new("grpc-status", "7")], stream.Trailers);
    }

    /// <summary>
    /// The client finds the connection broken while one of its sends is still in progress (a request
    /// body backed up in TCP): the GOAWAY stating the error still goes out, after that send (found
    /// by this test: it used to be dropped).
    /// </summary>
    [Fact]
    public async Task ConnectionError_WhileSendBackedUp_GoAwayStillSent()
    {
        const int Size = 16 * 1024 * 1024;
        await using var server = ScriptedHttp2Server.Start();
        await using var pool = server.CreatePool();
        var (connection, stream) = await OpenAsync(server, pool, endStream: false, (Http2Protocol.SettingInitialWindowSize, Size));
        await connection.WriteWindowUpdateAsync(0, Size);
        await connection.SyncAsync();

        connection.PauseReading();
        await stream.WriteAsync(Sequence(new byte[Size]), endStream: true).Within(); // queued; the send backs up
        await connection.WriteRawAsync(ScriptedConnection.Frame(Http2FrameType.PushPromise, Http2Protocol.FlagEndHeaders, 1, [0, 0, 0, 2, 0x82]));
        connection.ResumeReading();

        var goAway = await connection.NextAsync(Http2FrameType.GoAway);
        Assert.Equal(Http2ErrorCode.ProtocolError, goAway.ErrorCode);
    }

    /// <summary>
    /// Closing a connection whose last send has not finished (or is backed up) still sends GOAWAY
    /// (as <see cref="ConnectionError_WhileSendBackedUp_GoAwayStillSent"/>).
    /// </summary>
    [Fact]
    public async Task Dispose_WhileSendBackedUp_GoAwayStillSent()
    {
        const int Size = 16 * 1024 * 1024;
        await using var server = ScriptedHttp2Server.Start();
        var pool = server.CreatePool();
        var (connection, stream) = await OpenAsync(server, pool, endStream: false, (Http2Protocol.SettingInitialWindowSize, Size));
        await connection.WriteWindowUpdateAsync(0, Size);
        await connection.SyncAsync();

        connection.PauseReading();
        await stream.WriteAsync(Sequence(new byte[Size]), endStream: true).Within(); // queued; the send backs up
        var disposing = pool.DisposeAsync().AsTask();
        connection.ResumeReading();

        var goAway = await connection.NextAsync(Http2FrameType.GoAway);
        Assert.Equal(Http2ErrorCode.NoError, goAway.ErrorCode);
        await disposing.Within();
    }

    // --- Cancel and Dispose.

    [Fact]
    public async Task Cancel_PendingWait_ThrowsOperationCanceledAndServerGetsRstCancel()
    {
        await using var server = ScriptedHttp2Server.Start();
        await using var pool = server.CreatePool();
        var (connection, stream) = await OpenAsync(server, pool, endStream: false);
        var waiting = stream.WaitForResponseAsync().AsTask();

        stream.Cancel();
        stream.Cancel(); // idempotent

        await waiting.FailsWith<OperationCanceledException>();
        var reset = await connection.NextAsync(Http2FrameType.RstStream, 1);
        Assert.Equal(Http2ErrorCode.Cancel, reset.ErrorCode);
        await stream.WriteAsync(Sequence([1]), endStream: true).FailsWith<OperationCanceledException>();
        await stream.WaitForBodyAsync().FailsWith<OperationCanceledException>();
        stream.Dispose();
        Assert.DoesNotContain(await connection.SyncAsync(), f => f.StreamId == 1);

        // Frames still in flight for the cancelled stream are dropped, its header block still decoded.
        await connection.WriteResponseHeadersAsync(1, 200, false, ("x-after-cancel", "kept in the table"));
        await connection.WriteDataAsync(1, "dropped"u8);
        using var next = await pool.StartAsync(endStream: true);
        await connection.NextHeadersAsync(3);
        await connection.WriteResponseHeadersAsync(3, 200, endStream: true, ("x-after-cancel", "kept in the table"));
        await next.WaitForResponseAsync().Within();
        Assert.Equal([new("x-after-cancel", "kept in the table")], next.ResponseHeaders);
        Assert.DoesNotContain(await connection.SyncAsync(), f => f.Type is Http2FrameType.GoAway or Http2FrameType.RstStream);
    }

    [Fact]
    public async Task Cancel_WriterWaitingForWindow_ThrowsOperationCanceled()
    {
        await using var server = ScriptedHttp2Server.Start();
        await using var pool = server.CreatePool();
        var (connection, stream) = await OpenAsync(server, pool, endStream: false, (Http2Protocol.SettingInitialWindowSize, 5));
        var write = stream.WriteAsync(Sequence(Pattern(50)), endStream: true).AsTask();
        Assert.Equal(5, (await connection.NextAsync(Http2FrameType.Data, 1)).Payload.Length);
        Assert.DoesNotContain(await connection.SyncAsync(), f => f.Type == Http2FrameType.Data);

        stream.Cancel();

        await write.FailsWith<OperationCanceledException>();
        Assert.Equal(Http2ErrorCode.Cancel, (await connection.NextAsync(Http2FrameType.RstStream, 1)).ErrorCode);
        stream.Dispose();
    }

    [Fact]
    public async Task Dispose_OpenStream_SendsRstCancel()
    {
        await using var server = ScriptedHttp2Server.Start();
        await using var pool = server.CreatePool();
        var (connection, stream) = await OpenAsync(server, pool, endStream: true);
        await connection.WriteResponseHeadersAsync(1, 200);
        await connection.WriteDataAsync(1, "unread"u8);
        await stream.WaitForResponseAsync().Within();

        stream.Dispose();

        Assert.Equal(Http2ErrorCode.Cancel, (await connection.NextAsync(Http2FrameType.RstStream, 1)).ErrorCode);
        stream.Dispose();
        Assert.DoesNotContain(await connection.SyncAsync(), f => f.Type == Http2FrameType.RstStream);
    }

    [Fact]
    public async Task Dispose_ResponseEndedRequestOpen_SendsRstCancel()
    {
        await using var server = ScriptedHttp2Server.Start();
        await using var pool = server.CreatePool();
        var (connection, stream) = await OpenAsync(server, pool, endStream: false);
        await connection.WriteResponseHeadersAsync(1, 200, endStream: true, Ok);
        await stream.WaitForResponseAsync().Within();

        stream.Dispose();

        Assert.Equal(Http2ErrorCode.Cancel, (await connection.NextAsync(Http2FrameType.RstStream, 1)).ErrorCode);
    }

    [Fact]
    public async Task Dispose_FinishedStream_SendsNothing()
    {
        await using var server = ScriptedHttp2Server.Start();
        await using var pool = server.CreatePool();
        var (connection, stream) = await OpenAsync(server, pool, endStream: false);
        await stream.WriteAsync(Sequence([1, 2]), endStream: true).Within();
        await connection.WriteResponseHeadersAsync(1, 200);
        await connection.WriteDataAsync(1, "done"u8);
        await connection.WriteTrailersAsync(1, Ok);
        Assert.Equal("done"u8.ToArray(), await stream.ReadResponseAsync());

        stream.Dispose();

        Assert.DoesNotContain(await connection.SyncAsync(), f => f.Type == Http2FrameType.RstStream);
    }

    // --- Connecting.

    [Fact]
    public async Task Connect_ClosedPort_ConnectionExceptionNamesAddress()
    {
        int port;
        using (var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
            listener.Stop();
        }
        await using var pool = new Http2ConnectionPool(new Uri($"http://127.0.0.1:{port}"), null, TimeSpan.FromSeconds(5));

        var error = await pool.StartAsync(endStream: true).FailsWith<Http2ConnectionException>();

        Assert.Contains($"127.0.0.1:{port}", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, pool.ConnectionCount);
    }

    [Fact]
    public async Task Pool_Disposed_ConnectionsSendGoAwayAndNewStartsThrow()
    {
        await using var server = ScriptedHttp2Server.Start();
        var pool = server.CreatePool();
        var (connection, stream) = await OpenAsync(server, pool, endStream: true);
        await connection.WriteResponseHeadersAsync(1, 200, endStream: true, Ok);
        await stream.WaitForResponseAsync().Within();
        stream.Dispose();
        await connection.SyncAsync();

        await pool.DisposeAsync().AsTask().Within();

        // The GOAWAY is not required here: the client drops it when its last send has not quite
        // finished (see Dispose_WhileSendBackedUp_GoAwayStillSent); if sent, it says NO_ERROR.
        await connection.WaitForCloseAsync();
        Assert.All(connection.TakeUnclaimed().Where(f => f.Type == Http2FrameType.GoAway), goAway =>
        {
            Assert.Equal(Http2ErrorCode.NoError, goAway.ErrorCode);
            Assert.Equal(0, goAway.LastStreamId);
        });
        await Assert.ThrowsAsync<ObjectDisposedException>(() => pool.StartStreamAsync(DefaultPath, 0, static (_, _) => { }, true, true, CancellationToken.None).AsTask());
    }

    // --- Helpers.
}
