using System.Buffers.Binary;
using System.Net.Sockets;
using Esp.Grpc.Http2;
using Esp.Grpc.Http2.Server;
using Esp.Grpc.Http2.Hpack;
using Esp.Tests.Grpc.Http2.Hpack;
using Xunit;
using static Esp.Tests.Grpc.Http2.Server.ServerTesting;

namespace Esp.Tests.Grpc.Http2.Server;

/// <summary>
/// Connection errors (RFC 9113 §5.4.1): the server answers GOAWAY with the code RFC 9113 gives and
/// closes the connection; its debug data, if any, is plain text without the request's values.
/// </summary>
public sealed class Http2ServerConnectionErrorTests
{
    private static readonly (string, string)[] NoHeaders = [];

    // --- Frame sizes.

    [Fact]
    public async Task HeadersFrameOver16384Bytes_GoAwayFrameSizeError()
    {
        await using var host = Http2ServerHost.Start();
        var client = await host.OpenAsync();
        var block = client.Connection.EncodeBlock(ScriptedHttp2Client.Request(headers: ("x-pad", new string('p', 16_400))), HpackIndexing.WithoutIndexing);
        Assert.True(block.Length > 16_384);

        await client.Connection.WriteFrameAsync(Http2FrameType.Headers, Http2Protocol.FlagEndHeaders | Http2Protocol.FlagEndStream, 1, block);

        await client.ExpectConnectionErrorAsync(Http2ErrorCode.FrameSizeError);
        Assert.Equal(0, host.App.Calls);
    }

    [Fact]
    public async Task FrameHeaderClaiming16MiB_GoAwayFrameSizeError_WithoutWaitingForThePayload()
    {
        await using var host = Http2ServerHost.Start();
        var client = await host.OpenAsync();
        var header = new byte[9];
        Http2Protocol.WriteFrameHeader(header, Http2Protocol.MaxFrameSizeLimit, Http2FrameType.Headers, Http2Protocol.FlagEndHeaders, 1);

        await client.Connection.WriteRawAsync(header); // and nothing more: the length alone is the error

        await client.ExpectConnectionErrorAsync(Http2ErrorCode.FrameSizeError);
    }

    [Fact]
    public async Task UnknownFrameTypeOnStream0Over16384Bytes_GoAwayFrameSizeError()
    {
        await using var host = Http2ServerHost.Start();
        var client = await host.OpenAsync();

        await client.Connection.WriteRawAsync(ScriptedConnection.Frame(0xfa, 0, 0, new byte[16_385]));

        await client.ExpectConnectionErrorAsync(Http2ErrorCode.FrameSizeError);
    }

    [Fact]
    public async Task UnknownFrameType_Ignored()
    {
        await using var host = Http2ServerHost.Start();
        var client = await host.OpenAsync();

        await client.WriteAsync(ScriptedConnection.Frame(0xfa, 0xff, 0, new byte[100]), ScriptedConnection.Frame(0xfb, 0, 7, new byte[3]));

        await client.AssertUsableAsync(1);
    }

    // --- Stream identifiers.

    [Fact]
    public async Task EvenStreamId_GoAwayProtocolError()
    {
        await using var host = Http2ServerHost.Start();
        var client = await host.OpenAsync();

        await client.WriteRequestAsync(2, ScriptedHttp2Client.Request());

        await client.ExpectConnectionErrorAsync(Http2ErrorCode.ProtocolError);
        Assert.Equal(0, host.App.Calls);
    }

    [Fact]
    public async Task StreamIdLowerThanAPreviousOne_GoAwayProtocolError()
    {
        await using var host = Http2ServerHost.Start();
        var client = await host.OpenAsync();
        await client.AssertUsableAsync(5);

        await client.WriteRequestAsync(3, ScriptedHttp2Client.Request());

        var goAway = await client.ExpectConnectionErrorAsync(Http2ErrorCode.ProtocolError);
        Assert.Equal(5, goAway.LastStreamId);
        Assert.Equal(0, host.App.Calls);
    }

    // --- Header blocks and CONTINUATION.

    [Theory]
    [InlineData("PING")]
    [InlineData("DATA on the same stream")]
    [InlineData("HEADERS on another stream")]
    [InlineData("CONTINUATION on another stream")]
    [InlineData("PRIORITY on the same stream")]
    [InlineData("WINDOW_UPDATE on stream 0")]
    public async Task OtherFrameInsideAHeaderBlock_GoAwayProtocolError(string frame)
    {
        await using var host = Http2ServerHost.Start();
        var client = await host.OpenAsync();
        var secret = Secret();
        var block = client.Connection.EncodeBlock(ScriptedHttp2Client.Request(headers: ("x-secret", secret)));
        var half = block.Length / 2;
        var headers = ScriptedConnection.Frame(Http2FrameType.Headers, 0, 1, block.AsSpan(0, half)); // no END_HEADERS
        var intruder = frame switch
        {
            "PING" => ScriptedConnection.Frame(Http2FrameType.Ping, 0, 0, new byte[8]),
            "DATA on the same stream" => ScriptedConnection.DataFrame(1, "x"u8),
            "HEADERS on another stream" => ScriptedConnection.HeaderFrames(3, client.Connection.EncodeBlock(ScriptedHttp2Client.Request()), endStream: true),
            "CONTINUATION on another stream" => ScriptedConnection.Frame(Http2FrameType.Continuation, Http2Protocol.FlagEndHeaders, 3, block.AsSpan(half)),
            "PRIORITY on the same stream" => ScriptedConnection.Frame(Http2FrameType.Priority, 0, 1, [0, 0, 0, 0, 15]),
            _ => ScriptedConnection.WindowUpdateFrame(0, 1000),
        };

        await client.WriteAsync(headers, intruder);

        await client.ExpectConnectionErrorAsync(Http2ErrorCode.ProtocolError, secret);
        Assert.Equal(0, host.App.Calls);
    }

    [Fact]
    public async Task ContinuationWithoutAHeaderBlock_OnIdleStream_GoAwayProtocolError()
    {
        await using var host = Http2ServerHost.Start();
        var client = await host.OpenAsync();
        var block = client.Connection.EncodeBlock(ScriptedHttp2Client.Request());

        await client.Connection.WriteFrameAsync(Http2FrameType.Continuation, Http2Protocol.FlagEndHeaders, 1, block);

        await client.ExpectConnectionErrorAsync(Http2ErrorCode.ProtocolError);
        Assert.Equal(0, host.App.Calls);
    }

    [Fact]
    public async Task ContinuationAfterAnEndedHeaderBlock_GoAwayProtocolError()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = Http2ServerHost.Start(handler: _ => release.Task);
        var client = await host.OpenAsync();
        await client.WriteRequestAsync(1, ScriptedHttp2Client.Request(), endStream: false);
        var more = client.Connection.EncodeBlock([("x-more", "1")]);

        await client.Connection.WriteFrameAsync(Http2FrameType.Continuation, Http2Protocol.FlagEndHeaders, 1, more);

        await client.ExpectConnectionErrorAsync(Http2ErrorCode.ProtocolError);
        release.SetResult();
    }

    [Fact]
    public async Task HeaderBlockOverTwiceMaxHeaderListSize_GoAwayEnhanceYourCalm_BeforeItEnds()
    {
        await using var host = Http2ServerHost.Start(new Http2ServerOptions { MaxHeaderListSize = 4096 });
        var client = await host.OpenAsync();
        var secret = Secret();
        var start = client.Connection.EncodeBlock(ScriptedHttp2Client.Request(headers: ("x-secret", secret)), HpackIndexing.WithoutIndexing);
        // Valid fields, so a decoder that works as the block arrives also sees no error but the size.
        var filler = new List<byte>();
        while (filler.Count < 16_000)
            filler.AddRange(ScriptedConnection.RawLiteral("x-filler", new string('f', 990)));
        var fragment = filler.ToArray();

        await client.Connection.WriteRawAsync(ScriptedConnection.Frame(Http2FrameType.Headers, Http2Protocol.FlagEndStream, 1, start));
        // CONTINUATIONs without END_HEADERS, up to 16 MiB: the server must stop this long before.
        for (var i = 0; i < 1024 && !client.Connection.Closed.IsCompleted; i++)
        {
            try
            {
                await client.Connection.WriteRawAsync(ScriptedConnection.Frame(Http2FrameType.Continuation, 0, 1, fragment)).Within();
            }
            catch (Exception ex) when (ex is IOException or SocketException)
            {
                break; // the server closed the connection
            }
        }

        await client.ExpectConnectionErrorAsync(Http2ErrorCode.EnhanceYourCalm, secret);
        Assert.Equal(0, host.App.Calls);
    }

    // --- HPACK.

    [Theory]
    [InlineData("an index past both tables")]
    [InlineData("a table size update above the settings")]
    [InlineData("a string cut short")]
    [InlineData("an integer cut short")]
    [InlineData("a table size update after a field")]
    public async Task UndecodableHeaderBlock_GoAwayCompressionError(string what)
    {
        await using var host = Http2ServerHost.Start();
        var client = await host.OpenAsync();
        var secret = Secret();
        var fields = HpackTesting.Hex(what switch
        {
            "an index past both tables" => "be", // 62 with an empty dynamic table
            "a table size update above the settings" => "3fe13f", // 8192 > 4096
            "a string cut short" => "400561", // a name of 5 octets, 1 given
            _ => "ff", // a 7-bit prefix of all ones and no continuation octet
        });
        if (what == "a table size update after a field")
            fields = HpackTesting.Hex("3f00"); // 31: fine as a size, not after a field (RFC 7541 §4.2)
        byte[] block = what == "a table size update above the settings"
            ? [.. fields, .. client.Connection.EncodeBlock(ScriptedHttp2Client.Request(headers: ("x-secret", secret)), HpackIndexing.WithoutIndexing)]
            : [.. client.Connection.EncodeBlock(ScriptedHttp2Client.Request(headers: ("x-secret", secret)), HpackIndexing.WithoutIndexing), .. fields];

        await client.WriteBlockAsync(1, block);

        await client.ExpectConnectionErrorAsync(Http2ErrorCode.CompressionError, secret);
        Assert.Equal(0, host.App.Calls);
    }

    // --- SETTINGS.

    [Theory]
    [InlineData("length not a multiple of 6", "FrameSizeError")]
    [InlineData("ACK with a payload", "FrameSizeError")]
    [InlineData("ENABLE_PUSH 2", "ProtocolError")]
    [InlineData("INITIAL_WINDOW_SIZE 2^31", "FlowControlError")]
    [InlineData("MAX_FRAME_SIZE 16383", "ProtocolError")]
    [InlineData("MAX_FRAME_SIZE 2^24", "ProtocolError")]
    [InlineData("on stream 1", "ProtocolError")]
    public async Task BadSettings_GoAway(string what, string expected)
    {
        await using var host = Http2ServerHost.Start();
        var client = await host.OpenAsync();
        var frame = what switch
        {
            "length not a multiple of 6" => ScriptedConnection.Frame(Http2FrameType.Settings, 0, 0, [0, 4, 0, 0, 0x10, 0, 0]),
            "ACK with a payload" => ScriptedConnection.Frame(Http2FrameType.Settings, Http2Protocol.FlagAck, 0, [0, 4, 0, 0, 0x10, 0]),
            "ENABLE_PUSH 2" => ScriptedConnection.SettingsFrame((Http2Protocol.SettingEnablePush, 2)),
            "INITIAL_WINDOW_SIZE 2^31" => ScriptedConnection.SettingsFrame((Http2Protocol.SettingInitialWindowSize, 0x8000_0000)),
            "MAX_FRAME_SIZE 16383" => ScriptedConnection.SettingsFrame((Http2Protocol.SettingMaxFrameSize, 16_383)),
            "MAX_FRAME_SIZE 2^24" => ScriptedConnection.SettingsFrame((Http2Protocol.SettingMaxFrameSize, 1u << 24)),
            _ => ScriptedConnection.Frame(Http2FrameType.Settings, 0, 1, []),
        };

        await client.Connection.WriteRawAsync(frame);

        await client.ExpectConnectionErrorAsync(Enum.Parse<Http2ErrorCode>(expected));
    }

    [Fact]
    public async Task GoodSettingsEdgeValues_Accepted()
    {
        await using var host = Http2ServerHost.Start();
        var client = await host.OpenAsync();

        await client.ChangeSettingsAsync(
            (Http2Protocol.SettingEnablePush, 1),
            (Http2Protocol.SettingInitialWindowSize, int.MaxValue),
            (Http2Protocol.SettingMaxFrameSize, Http2Protocol.MaxFrameSizeLimit),
            (0xff00, 12345)); // an unknown setting is ignored (RFC 9113 §6.5.2)

        await client.AssertUsableAsync(1);
    }

    // --- PING.

    [Theory]
    [InlineData(0)]
    [InlineData(7)]
    [InlineData(9)]
    public async Task PingOfWrongSize_GoAwayFrameSizeError(int length)
    {
        await using var host = Http2ServerHost.Start();
        var client = await host.OpenAsync();

        await client.Connection.WriteFrameAsync(Http2FrameType.Ping, 0, 0, new byte[length]);

        await client.ExpectConnectionErrorAsync(Http2ErrorCode.FrameSizeError);
    }

    [Fact]
    public async Task PingOnStream1_GoAwayProtocolError()
    {
        await using var host = Http2ServerHost.Start();
        var client = await host.OpenAsync();

        await client.Connection.WriteFrameAsync(Http2FrameType.Ping, 0, 1, new byte[8]);

        await client.ExpectConnectionErrorAsync(Http2ErrorCode.ProtocolError);
    }

    // --- Flow control.

    [Fact]
    public async Task ConnectionWindowUpdateOf0_GoAwayProtocolError()
    {
        await using var host = Http2ServerHost.Start();
        var client = await host.OpenAsync();

        await client.Connection.WriteWindowUpdateAsync(0, 0);

        await client.ExpectConnectionErrorAsync(Http2ErrorCode.ProtocolError);
    }

    [Fact]
    public async Task ConnectionWindowUpdateOverflowing_GoAwayFlowControlError()
    {
        await using var host = Http2ServerHost.Start();
        var client = await host.OpenAsync();

        await client.Connection.WriteWindowUpdateAsync(0, int.MaxValue - Http2Protocol.DefaultWindowSize); // exactly 2^31-1: fine
        await client.Connection.WriteWindowUpdateAsync(0, 1);

        await client.ExpectConnectionErrorAsync(Http2ErrorCode.FlowControlError);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public async Task WindowUpdateOfWrongLength_GoAwayFrameSizeError(int streamId)
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = Http2ServerHost.Start(handler: _ => release.Task);
        var client = await host.OpenAsync();
        if (streamId != 0)
            await client.WriteRequestAsync(streamId, ScriptedHttp2Client.Request(), endStream: false);

        await client.Connection.WriteFrameAsync(Http2FrameType.WindowUpdate, 0, streamId, [0, 0, 1]);

        await client.ExpectConnectionErrorAsync(Http2ErrorCode.FrameSizeError);
        release.SetResult();
    }

    [Fact]
    public async Task RstStreamOfWrongLength_GoAwayFrameSizeError()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = Http2ServerHost.Start(handler: _ => release.Task);
        var client = await host.OpenAsync();
        await client.WriteRequestAsync(1, ScriptedHttp2Client.Request(), endStream: false);

        await client.Connection.WriteFrameAsync(Http2FrameType.RstStream, 0, 1, [0, 0, 8]);

        await client.ExpectConnectionErrorAsync(Http2ErrorCode.FrameSizeError);
        release.SetResult();
    }

    [Fact]
    public async Task DataBeyondTheConnectionWindow_GoAwayFlowControlError()
    {
        // Two streams, each within its 64 KiB window, together one byte over the 100,000-byte
        // connection window: the application reads nothing, so nothing is credited back.
        var options = new Http2ServerOptions { StreamReceiveWindow = 65_535, ConnectionReceiveWindow = 100_000 };
        await using var host = Http2ServerHost.Start(options, async context =>
        {
            var aborted = new TaskCompletionSource();
            using var registration = context.RequestAborted.Register(() => aborted.TrySetResult());
            await aborted.Task;
        });
        var client = await host.OpenAsync();
        await client.WriteRequestAsync(1, ScriptedHttp2Client.Request(), endStream: false);
        await client.WriteRequestAsync(3, ScriptedHttp2Client.Request(), endStream: false);

        await client.Connection.WriteDataChunkedAsync(1, new byte[60_000]);
        await client.Connection.WriteDataChunkedAsync(3, new byte[40_000]);
        var frames = await client.Connection.SyncAsync();
        Assert.DoesNotContain(frames, f => f.Type is Http2FrameType.GoAway or Http2FrameType.RstStream);
        Assert.True(frames.Count(f => f.Type == Http2FrameType.WindowUpdate && f.StreamId == 0) <= 1, "The server credited the connection window though the application read nothing.");
        await client.Connection.WriteDataAsync(3, "!"u8);

        await client.ExpectConnectionErrorAsync(Http2ErrorCode.FlowControlError);
    }

    // --- Frames where they cannot be.

    [Fact]
    public async Task PushPromiseFromClient_GoAwayProtocolError()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = Http2ServerHost.Start(handler: _ => release.Task);
        var client = await host.OpenAsync();
        await client.WriteRequestAsync(1, ScriptedHttp2Client.Request(), endStream: false);
        var promised = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(promised, 2);

        await client.Connection.WriteFrameAsync(Http2FrameType.PushPromise, Http2Protocol.FlagEndHeaders, 1, [.. promised, .. client.Connection.EncodeBlock(ScriptedHttp2Client.Request())]);

        await client.ExpectConnectionErrorAsync(Http2ErrorCode.ProtocolError);
        release.SetResult();
    }

    [Theory]
    [InlineData("Data")]
    [InlineData("Headers")]
    [InlineData("RstStream")]
    [InlineData("Priority")]
    [InlineData("Continuation")]
    public async Task StreamFrameOnStream0_GoAwayProtocolError(string frameType)
    {
        var type = Enum.Parse<Http2FrameType>(frameType);
        await using var host = Http2ServerHost.Start();
        var client = await host.OpenAsync();
        var frame = type switch
        {
            Http2FrameType.Data => ScriptedConnection.DataFrame(0, "data"u8),
            Http2FrameType.Headers => ScriptedConnection.HeaderFrames(0, client.Connection.EncodeBlock(ScriptedHttp2Client.Request()), endStream: true),
            Http2FrameType.RstStream => ScriptedConnection.RstStreamFrame(0, Http2ErrorCode.Cancel),
            Http2FrameType.Priority => ScriptedConnection.Frame(Http2FrameType.Priority, 0, 0, [0, 0, 0, 1, 15]),
            _ => ScriptedConnection.Frame(Http2FrameType.Continuation, Http2Protocol.FlagEndHeaders, 0, client.Connection.EncodeBlock(NoHeaders)),
        };

        await client.Connection.WriteRawAsync(frame);

        await client.ExpectConnectionErrorAsync(Http2ErrorCode.ProtocolError);
        Assert.Equal(0, host.App.Calls);
    }

    [Theory]
    [InlineData("Data")]
    [InlineData("RstStream")]
    [InlineData("WindowUpdate")]
    public async Task FrameOnAnIdleStream_GoAwayProtocolError(string frameType)
    {
        var type = Enum.Parse<Http2FrameType>(frameType);
        await using var host = Http2ServerHost.Start();
        var client = await host.OpenAsync();
        var frame = type switch
        {
            Http2FrameType.Data => ScriptedConnection.DataFrame(1, "data"u8, endStream: true),
            Http2FrameType.RstStream => ScriptedConnection.RstStreamFrame(1, Http2ErrorCode.Cancel),
            _ => ScriptedConnection.WindowUpdateFrame(1, 1000),
        };

        await client.Connection.WriteRawAsync(frame); // RFC 9113 §5.1: idle streams take only HEADERS and PRIORITY

        await client.ExpectConnectionErrorAsync(Http2ErrorCode.ProtocolError);
        Assert.Equal(0, host.App.Calls);
    }

    [Theory]
    [InlineData("WindowUpdate")]
    [InlineData("RstStream")]
    [InlineData("Priority")]
    public async Task FrameOnAClosedStream_Ignored(string frameType)
    {
        await using var host = Http2ServerHost.Start();
        var client = await host.OpenAsync();
        await client.AssertUsableAsync(1);
        var frame = Enum.Parse<Http2FrameType>(frameType) switch
        {
            Http2FrameType.WindowUpdate => ScriptedConnection.WindowUpdateFrame(1, 1000),
            Http2FrameType.RstStream => ScriptedConnection.RstStreamFrame(1, Http2ErrorCode.Cancel),
            _ => ScriptedConnection.Frame(Http2FrameType.Priority, 0, 1, [0, 0, 0, 0, 15]),
        };

        await client.WriteAsync(frame); // RFC 9113 §5.1: may arrive after END_STREAM both ways; ignored

        await client.AssertUsableAsync(3);
        Assert.DoesNotContain(client.AllFrames(), f => f.Type == Http2FrameType.GoAway);
    }

    [Fact]
    public async Task PriorityOnAnIdleStream_Ignored()
    {
        await using var host = Http2ServerHost.Start();
        var client = await host.OpenAsync();

        await client.Connection.WriteFrameAsync(Http2FrameType.Priority, 0, 3, [0, 0, 0, 0, 15]);

        await client.AssertUsableAsync(1); // and stream 3 may still be opened after it (it stayed idle)
        await client.AssertUsableAsync(3);
    }

    [Theory]
    [InlineData("Headers")]
    [InlineData("Data")]
    public async Task PaddingAsLongAsThePayload_GoAwayProtocolError(string frameType)
    {
        var type = Enum.Parse<Http2FrameType>(frameType);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = Http2ServerHost.Start(handler: _ => release.Task);
        var client = await host.OpenAsync();
        byte[] frame;
        if (type == Http2FrameType.Headers)
        {
            var block = client.Connection.EncodeBlock(ScriptedHttp2Client.Request());
            frame = ScriptedConnection.Frame(Http2FrameType.Headers, Http2Protocol.FlagEndHeaders | Http2Protocol.FlagPadded, 1, [(byte)(block.Length + 1), .. block]);
        }
        else
        {
            await client.WriteRequestAsync(1, ScriptedHttp2Client.Request(), endStream: false);
            frame = ScriptedConnection.Frame(Http2FrameType.Data, Http2Protocol.FlagPadded, 1, [5, 1, 2, 3, 4]);
        }

        await client.Connection.WriteRawAsync(frame);

        await client.ExpectConnectionErrorAsync(Http2ErrorCode.ProtocolError);
        release.SetResult();
    }
}
