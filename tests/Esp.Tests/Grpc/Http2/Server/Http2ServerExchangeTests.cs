using System.Text;
using Esp.Grpc.Http2;
using Esp.Grpc.Http2.Hpack;
using Esp.Grpc.Http2.Server;
using Microsoft.AspNetCore.Http;
using Xunit;
using static Esp.Tests.Grpc.Http2.Http2ClientTesting;

namespace Esp.Tests.Grpc.Http2.Server;

/// <summary>
/// Requests and responses at the frame level: what the application sees of a request, what the
/// client gets of a response, flow control both ways, and the server's HPACK encoder.
/// </summary>
public sealed class Http2ServerExchangeTests
{
    private static readonly string[] ConnectionSpecific = ["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"];

    [Fact]
    public async Task LongHeaderValues_RepeatedAndAlternating_AppSeesEachExactly()
    {
        // The connection reuses the string of a long value it saw last (a bearer token on every
        // call): repeats, values differing only in their last octet, and evictions must not mix them up.
        var seen = new List<string>();
        await using var host = Http2ServerHost.Start(handler: context =>
        {
            seen.Add(context.Request.Headers.Authorization.ToString());
            return Task.CompletedTask;
        });
        var client = await host.OpenAsync();
        var tokenA = "Bearer " + new string('a', 300) + "x";
        var tokenB = "Bearer " + new string('a', 300) + "y";
        var tokenC = "Bearer " + string.Concat(Enumerable.Range(0, 60).Select(i => $"c{i}."));
        string[] sent = [tokenA, tokenA, tokenB, tokenA, tokenC, tokenB, tokenA, "Bearer short", tokenC, tokenC];

        var streamId = 1;
        foreach (var token in sent)
        {
            var response = await client.RoundTripAsync(streamId, ScriptedHttp2Client.GrpcRequest(headers: ("authorization", token)));
            Assert.Equal(200, response.Status);
            streamId += 2;
        }

        Assert.Equal(sent, seen);
    }

    [Fact]
    public async Task Unary_AppSeesTheRequest_ResponseIsHeadersDataTrailers()
    {
        SeenRequest? seen = null;
        await using var host = Http2ServerHost.Start(handler: async context =>
        {
            var request = context.Request;
            var body = await TestApp.ReadBodyAsync(request);
            seen = new SeenRequest(request.Method, request.Scheme, request.Path.Value, request.QueryString.Value, request.Protocol, request.Host.Value,
                request.Headers.ToDictionary(h => h.Key, h => h.Value.Select(v => v ?? "").ToArray(), StringComparer.OrdinalIgnoreCase), body);
            var response = context.Response;
            response.StatusCode = 200;
            response.ContentType = "application/grpc";
            response.Headers["X-Response"] = "R1";
            response.Headers.Connection = "keep-alive";
            response.Headers["Keep-Alive"] = "timeout=5";
            response.Headers["Transfer-Encoding"] = "chunked";
            response.Headers["Upgrade"] = "h2c";
            response.Headers["Proxy-Connection"] = "keep-alive";
            await response.Body.WriteAsync("world"u8.ToArray());
            response.AppendTrailer("grpc-status", "0");
            response.AppendTrailer("Grpc-Message", "fine");
        });
        var client = await host.OpenAsync();
        List<(string, string)> fields =
        [
            (":method", "POST"), (":scheme", "http"), (":authority", "example.test:8080"), (":path", "/pkg.Svc/Unary?x=1&y=two"),
            ("content-type", "application/grpc"), ("te", "trailers"), ("cookie", "a=1"), ("x-custom", "v1"), ("cookie", "b=2"),
            ("x-multi", "m1"), ("x-multi", "m2"), ("grpc-timeout", "5S"),
        ];

        await client.WriteRequestAsync(1, fields, endStream: false);
        await client.Connection.WriteDataAsync(1, "hello"u8, endStream: true);
        var response = await client.ReadResponseAsync(1);

        Assert.NotNull(seen);
        Assert.Equal("POST", seen.Method);
        Assert.Equal("http", seen.Scheme);
        Assert.Equal("/pkg.Svc/Unary", seen.Path);
        Assert.Equal("?x=1&y=two", seen.Query);
        Assert.Equal("HTTP/2", seen.Protocol);
        Assert.Equal("example.test:8080", seen.Host);
        Assert.Equal(["example.test:8080"], seen.Headers["host"]);
        Assert.Equal(["application/grpc"], seen.Headers["content-type"]);
        Assert.Equal(["trailers"], seen.Headers["te"]);
        Assert.Equal(["a=1; b=2"], seen.Headers["cookie"]); // RFC 9113 §8.2.3
        Assert.Equal(["v1"], seen.Headers["x-custom"]);
        Assert.Equal(["m1", "m2"], seen.Headers["x-multi"]);
        Assert.Equal(["5S"], seen.Headers["grpc-timeout"]);
        Assert.DoesNotContain(seen.Headers.Keys, k => k.StartsWith(':'));
        Assert.Equal("hello"u8.ToArray(), seen.Body);

        Assert.Null(response.Reset);
        Assert.Equal([Http2FrameType.Headers, Http2FrameType.Data, Http2FrameType.Headers], response.Frames.Where(f => f.Type != Http2FrameType.Data || f.Payload.Length > 0).Select(f => f.Type));
        Assert.False(response.EndedWithHeaders);
        var headers = response.HeadersFrame!.Fields;
        Assert.Equal((":status", "200"), headers[0]);
        Assert.DoesNotContain(headers.Skip(1), h => h.Name.StartsWith(':'));
        Assert.All(headers, h => Assert.Equal(h.Name.ToLowerInvariant(), h.Name));
        Assert.Contains(("content-type", "application/grpc"), headers);
        Assert.Contains(("x-response", "R1"), headers);
        Assert.DoesNotContain(headers, h => ConnectionSpecific.Contains(h.Name));
        Assert.Equal("world"u8.ToArray(), response.Body);
        Assert.True(response.TrailersEndStream);
        Assert.Equal([("grpc-status", "0"), ("grpc-message", "fine")], response.TrailersFrame!.Fields);
    }

    [Fact]
    public async Task HeadersOnly_TrailersOnlyResponse_OneHeadersFrameWithEndStream()
    {
        await using var host = Http2ServerHost.Start(handler: context =>
        {
            context.Response.ContentType = "application/grpc";
            context.Response.Headers["grpc-status"] = "5";
            context.Response.Headers["grpc-message"] = "not found";
            return Task.CompletedTask;
        });
        var client = await host.OpenAsync();

        var response = await client.RoundTripAsync(1, ScriptedHttp2Client.GrpcRequest());

        Assert.Single(response.Frames);
        Assert.True(response.EndedWithHeaders);
        Assert.Equal(Http2FrameType.Headers, response.Frames[0].Type);
        Assert.True(response.Frames[0].HasFlag(Http2Protocol.FlagEndHeaders));
        var fields = response.HeadersFrame!.Fields;
        Assert.Equal([(":status", "200"), ("content-type", "application/grpc"), ("grpc-status", "5"), ("grpc-message", "not found")], fields.Where(f => f.Item1 != "date"));
        // The server's own responses carry Date (RFC 9110 §6.6.1), as Kestrel's did.
        var date = Assert.Single(fields, f => f.Item1 == "date").Item2;
        Assert.True(DateTimeOffset.TryParseExact(date, "r", System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None, out _), date);
    }

    [Fact]
    public async Task RequestInContinuations_PaddedAndWithPriority_PaddedData_Accepted()
    {
        string? longHeader = null;
        await using var host = Http2ServerHost.Start(handler: async context =>
        {
            longHeader = context.Request.Headers["x-long"];
            await TestApp.EchoAsync(context);
        });
        var client = await host.OpenAsync();
        var block = client.Connection.EncodeBlock(ScriptedHttp2Client.GrpcRequest(headers: ("x-long", new string('l', 3000))));

        await client.WriteAsync(
            ScriptedConnection.HeaderFrames(1, block, endStream: false, continuations: 2, padLength: 10, priority: true),
            ScriptedConnection.DataFrame(1, "abc"u8, padLength: 20),
            ScriptedConnection.DataFrame(1, []),
            ScriptedConnection.DataFrame(1, "def"u8, endStream: true, padLength: 0));
        var response = await client.ReadResponseAsync(1);

        Assert.Equal(200, response.Status);
        Assert.Equal("abcdef"u8.ToArray(), response.Body);
        Assert.Equal(new string('l', 3000), longHeader);
    }

    [Fact]
    public async Task LargeBodiesBothWays_SmallClientWindow_WindowsAndFrameSizeHonoured_CreditedAsTheAppReads()
    {
        const int size = 3 * 1024 * 1024;
        var options = new Http2ServerOptions { StreamReceiveWindow = 256 * 1024, ConnectionReceiveWindow = 1024 * 1024 };
        await using var host = Http2ServerHost.Start(options, async context =>
        {
            context.Response.ContentType = "application/octet-stream";
            await context.Request.Body.CopyToAsync(context.Response.Body, 100_000); // echoes as it reads
            context.Response.AppendTrailer("x-done", "1");
        });
        var client = await host.OpenAsync((Http2Protocol.SettingInitialWindowSize, 65_535), (Http2Protocol.SettingMaxFrameSize, 16_384));
        var payload = Pattern(size);
        var state = new FlowState(options.StreamReceiveWindow, Http2Protocol.DefaultWindowSize);

        await client.WriteRequestAsync(1, ScriptedHttp2Client.Request(), endStream: false);
        var sender = Task.Run(() => SendWithinWindowsAsync(client, 1, payload, state));
        var received = new MemoryStream();
        long ourStreamWindow = 65_535, ourConnectionWindow = 65_535;
        var headersSeen = false;
        while (true)
        {
            var frame = await client.Connection.NextAnyAsync();
            if (frame.Type == Http2FrameType.WindowUpdate)
            {
                state.Credit(frame.StreamId, frame.WindowIncrement);
                continue;
            }
            Assert.True(frame.Type is not (Http2FrameType.RstStream or Http2FrameType.GoAway), $"Unexpected {frame}.");
            if (frame.StreamId != 1)
                continue;
            if (frame.Type == Http2FrameType.Data)
            {
                Assert.True(frame.Payload.Length <= 16_384, $"A DATA frame of {frame.Payload.Length} bytes over our SETTINGS_MAX_FRAME_SIZE.");
                ourStreamWindow -= frame.Payload.Length;
                ourConnectionWindow -= frame.Payload.Length;
                Assert.True(ourStreamWindow >= 0, "The server sent past the stream window.");
                Assert.True(ourConnectionWindow >= 0, "The server sent past the connection window.");
                received.Write(ScriptedResponse.DataBytes(frame));
                if (ourStreamWindow < 16_384)
                {
                    // Credit in batches: the server finds the windows nearly empty now and then.
                    await client.WriteAsync(ScriptedConnection.WindowUpdateFrame(0, (int)(65_535 - ourConnectionWindow)), ScriptedConnection.WindowUpdateFrame(1, (int)(65_535 - ourStreamWindow)));
                    ourStreamWindow = ourConnectionWindow = 65_535;
                }
                Assert.False(frame.EndStream, "The response ended without trailers.");
            }
            else if (frame.Headers is not null)
            {
                if (!headersSeen)
                {
                    headersSeen = true;
                    Assert.Equal("200", frame.Header(":status"));
                    continue;
                }
                Assert.Equal("1", frame.Header("x-done"));
                break;
            }
        }
        await sender.Within();

        Assert.Equal(size, received.Length);
        Assert.True(payload.AsSpan().SequenceEqual(received.ToArray()), "The body came back changed.");
        // The server credited the 3 MiB we sent as the application read them (we could not have sent them otherwise):
        // beyond the windows it started with (256 KiB for the stream, 64 KiB + its first WINDOW_UPDATE for the connection).
        Assert.True(state.StreamCredited >= size - options.StreamReceiveWindow, $"Stream credited {state.StreamCredited}.");
        Assert.True(state.ConnectionCredited >= size - Http2Protocol.DefaultWindowSize, $"Connection credited {state.ConnectionCredited}.");
    }

    [Fact]
    public async Task ClientInitialWindow0_ServerSendsOnlyWhatWindowUpdatesAllow()
    {
        const int size = 100_000;
        var body = Pattern(size, seed: 7);
        await using var host = Http2ServerHost.Start(handler: async context =>
        {
            await context.Response.Body.WriteAsync(body);
            context.Response.AppendTrailer("x-done", "1");
        });
        var client = await host.OpenAsync((Http2Protocol.SettingInitialWindowSize, 0));
        var received = new MemoryStream();
        var blocks = new List<Http2Frame>();

        await client.WriteRequestAsync(1, ScriptedHttp2Client.Request());
        await host.App.NextCallAsync();
        var early = await client.Connection.SyncAsync();
        Assert.DoesNotContain(early, f => f.Type == Http2FrameType.Data && f.Payload.Length > 0);
        blocks.AddRange(early.Where(f => f.StreamId == 1 && f.Headers is not null));

        await client.Connection.WriteWindowUpdateAsync(1, 1000);
        await ReadDataAsync(client, 1, received, 1000, blocks);
        await client.Connection.WriteWindowUpdateAsync(1, 200_000); // the connection window (65,535 - 1,000) is now the limit
        await ReadDataAsync(client, 1, received, Http2Protocol.DefaultWindowSize, blocks);
        await client.Connection.WriteWindowUpdateAsync(0, 100_000);
        await ReadDataAsync(client, 1, received, size, blocks);
        while (blocks.Count < 2)
            blocks.Add(await client.Connection.NextHeadersAsync(1));

        Assert.Equal("200", blocks[0].Header(":status"));
        Assert.Equal("1", blocks[1].Header("x-done"));
        Assert.Equal(body, received.ToArray());
    }

    [Fact]
    public async Task ResponseStarted_HeadersSentWhileTheClientWindowIs0()
    {
        await using var host = Http2ServerHost.Start(handler: async context =>
        {
            await context.Response.StartAsync(); // HEADERS are not flow-controlled (RFC 9113 §5.2): they go now
            await context.Response.Body.WriteAsync(new byte[50_000]);
        });
        var client = await host.OpenAsync((Http2Protocol.SettingInitialWindowSize, 0));

        await client.WriteRequestAsync(1, ScriptedHttp2Client.Request());

        var headers = await client.Connection.NextHeadersAsync(1);
        Assert.Equal("200", headers.Header(":status"));
        await client.Connection.WriteWindowUpdateAsync(1, 50_000);
        var response = await client.ReadResponseAsync(1);
        Assert.Equal(50_000, response.Body.Length);
    }

    [Fact]
    public async Task ClientInitialWindowSizeChangedMidStream_SendWindowAdjusted()
    {
        const int size = 10_000;
        var body = Pattern(size, seed: 3);
        await using var host = Http2ServerHost.Start(handler: context => context.Response.Body.WriteAsync(body).AsTask());
        var client = await host.OpenAsync((Http2Protocol.SettingInitialWindowSize, 1000));
        var received = new MemoryStream();
        var blocks = new List<Http2Frame>();

        await client.WriteRequestAsync(1, ScriptedHttp2Client.Request());
        await ReadDataAsync(client, 1, received, 1000, blocks);
        await client.ChangeSettingsAsync((Http2Protocol.SettingInitialWindowSize, 3000)); // +2,000 (RFC 9113 §6.9.2)
        await ReadDataAsync(client, 1, received, 3000, blocks);
        await client.ChangeSettingsAsync((Http2Protocol.SettingInitialWindowSize, 2000)); // -1,000: the window is now -1,000
        await client.Connection.WriteWindowUpdateAsync(1, 1500); // 500
        await ReadDataAsync(client, 1, received, 3500, blocks);
        await client.Connection.WriteWindowUpdateAsync(1, 100_000);
        await ReadDataAsync(client, 1, received, size, blocks);

        Assert.Equal(body, received.ToArray());
    }

    [Fact]
    public async Task ResponseHeaders_UseTheDynamicTable_SecondIdenticalBlockSmaller()
    {
        await using var host = Http2ServerHost.Start(handler: context =>
        {
            context.Response.ContentType = "application/grpc";
            context.Response.Headers["x-long-response-header"] = new string('r', 200);
            return context.Response.WriteAsync("ok");
        });
        var client = await host.OpenAsync();

        var first = await client.RoundTripAsync(1, ScriptedHttp2Client.Request());
        var second = await client.RoundTripAsync(3, ScriptedHttp2Client.Request());

        Assert.Equal(first.HeadersFrame!.Fields, second.HeadersFrame!.Fields);
        Assert.True(second.HeadersFrame.HeaderBlock!.Length < first.HeadersFrame.HeaderBlock!.Length,
            $"Second block {second.HeadersFrame.HeaderBlock.Length} octets, first {first.HeadersFrame.HeaderBlock.Length}.");
        Assert.Equal(HpackRepresentation.Indexed, second.HeadersFrame.Headers!.Single(h => h.Name == "x-long-response-header").Representation);
    }

    [Fact]
    public async Task ClientHeaderTableSize0MidConnection_NextBlockStartsWithSizeUpdate_NoInsertionsAfter()
    {
        await using var host = Http2ServerHost.Start(handler: context =>
        {
            context.Response.Headers["x-long-response-header"] = new string('r', 200);
            return context.Response.WriteAsync("ok");
        });
        var client = await host.OpenAsync();
        var first = await client.RoundTripAsync(1, ScriptedHttp2Client.Request());
        Assert.Contains(first.HeadersFrame!.Headers!, h => h.Representation == HpackRepresentation.IncrementalIndexing);

        await client.ChangeSettingsAsync((Http2Protocol.SettingHeaderTableSize, 0));
        var second = await client.RoundTripAsync(3, ScriptedHttp2Client.Request());
        var third = await client.RoundTripAsync(5, ScriptedHttp2Client.Request());

        Assert.Equal([0], second.HeadersFrame!.SizeUpdates!);
        Assert.Empty(third.HeadersFrame!.SizeUpdates!);
        foreach (var block in new[] { second.HeadersFrame, third.HeadersFrame })
        {
            Assert.DoesNotContain(block.Headers!, h => h.Representation == HpackRepresentation.IncrementalIndexing);
            Assert.DoesNotContain(block.Headers!, h => h.Representation == HpackRepresentation.Indexed && (h.FirstByte & 0x7f) > HpackStaticTable.Count);
        }
        Assert.Equal(first.HeadersFrame.Fields, third.HeadersFrame.Fields);
    }

    [Fact]
    public async Task ClientHeaderTableSize0FromTheStart_NoInsertions()
    {
        await using var host = Http2ServerHost.Start(handler: context =>
        {
            context.Response.Headers["x-long-response-header"] = new string('r', 200);
            return context.Response.WriteAsync("ok");
        });
        var client = await host.ConnectAsync(decoderTableSize: 0);
        await client.HandshakeAsync((Http2Protocol.SettingHeaderTableSize, 0));

        var first = await client.RoundTripAsync(1, ScriptedHttp2Client.Request());
        var second = await client.RoundTripAsync(3, ScriptedHttp2Client.Request());

        foreach (var block in new[] { first.HeadersFrame!, second.HeadersFrame! })
        {
            Assert.True(block.SizeUpdates!.All(size => size == 0));
            Assert.DoesNotContain(block.Headers!, h => h.Representation == HpackRepresentation.IncrementalIndexing);
            Assert.DoesNotContain(block.Headers!, h => h.Representation == HpackRepresentation.Indexed && (h.FirstByte & 0x7f) > HpackStaticTable.Count);
        }
        Assert.Equal(first.HeadersFrame!.Fields, second.HeadersFrame!.Fields);
    }

    /// <summary>
    /// Reads DATA on <paramref name="streamId"/> until <paramref name="total"/> bytes in all; then a round trip must bring no more.
    /// Header blocks on the stream read meanwhile are added to <paramref name="blocks"/>.
    /// </summary>
    private static async Task ReadDataAsync(ScriptedHttp2Client client, int streamId, MemoryStream received, int total, List<Http2Frame> blocks)
    {
        while (received.Length < total)
        {
            var data = await client.Connection.NextAsync(f => f.StreamId == streamId && (f.Headers is not null || f.Type is Http2FrameType.Data or Http2FrameType.RstStream), $"DATA on stream {streamId}");
            if (data.Headers is not null)
            {
                blocks.Add(data);
                continue;
            }
            Assert.Equal(Http2FrameType.Data, data.Type);
            Assert.True(data.Payload.Length <= 16_384);
            received.Write(ScriptedResponse.DataBytes(data));
            Assert.True(received.Length <= total, $"The server sent {received.Length} bytes where the windows allowed {total}.");
        }
        foreach (var frame in await client.Connection.SyncAsync())
        {
            if (frame.StreamId == streamId && frame.Type == Http2FrameType.Data)
                received.Write(ScriptedResponse.DataBytes(frame));
            else if (frame.StreamId == streamId && frame.Headers is not null)
                blocks.Add(frame);
        }
        Assert.True(received.Length <= total, $"The server sent {received.Length} bytes where the windows allowed {total}.");
    }

    /// <summary>Sends <paramref name="payload"/> on the stream as the server's windows allow (what <see cref="FlowState"/> was credited).</summary>
    private static async Task SendWithinWindowsAsync(ScriptedHttp2Client client, int streamId, byte[] payload, FlowState state)
    {
        var offset = 0;
        while (offset < payload.Length)
        {
            var size = await state.TakeAsync(Math.Min(16_384, payload.Length - offset));
            await client.Connection.WriteDataAsync(streamId, payload.AsSpan(offset, size), endStream: offset + size == payload.Length);
            offset += size;
        }
    }

    private sealed record SeenRequest(string Method, string Scheme, string? Path, string? Query, string Protocol, string? Host, Dictionary<string, string[]> Headers, byte[] Body);

    /// <summary>The server's receive windows as the client sees them: what it may send now.</summary>
    private sealed class FlowState(int streamWindow, int connectionWindow)
    {
        private readonly Lock _lock = new();
        private long _stream = streamWindow;
        private long _connection = connectionWindow;
        private TaskCompletionSource _credited = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public long StreamCredited { get; private set; }

        public long ConnectionCredited { get; private set; }

        public void Credit(int streamId, int increment)
        {
            TaskCompletionSource credited;
            lock (_lock)
            {
                if (streamId == 0)
                {
                    _connection += increment;
                    ConnectionCredited += increment;
                }
                else
                {
                    _stream += increment;
                    StreamCredited += increment;
                }
                credited = _credited;
                _credited = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
            credited.TrySetResult();
        }

        /// <summary>Up to <paramref name="wanted"/> bytes of both windows, waiting for credit when either is empty.</summary>
        public async Task<int> TakeAsync(int wanted)
        {
            while (true)
            {
                Task credited;
                lock (_lock)
                {
                    var size = (int)Math.Min(wanted, Math.Min(_stream, _connection));
                    if (size > 0)
                    {
                        _stream -= size;
                        _connection -= size;
                        return size;
                    }
                    credited = _credited.Task;
                }
                await credited.Within();
            }
        }
    }
}
