using System.Text;
using System.Text.RegularExpressions;
using Esp.Grpc.Http2;
using Esp.Grpc.Http2.Server;
using Microsoft.AspNetCore.Http;
using Xunit;
using static Esp.Tests.Grpc.Http2.Server.ServerTesting;

namespace Esp.Tests.Grpc.Http2.Server;

/// <summary>
/// The server's side of the connection start (RFC 9113 §3.4): its SETTINGS and window, the client's
/// preface and first SETTINGS, what a wrong preface gets, and the handshake and idle timeouts.
/// </summary>
public sealed class Http2ServerHandshakeTests
{
    [Fact]
    public async Task Handshake_ServerSettingsFirst_ThenConnectionWindow_ClientSettingsAcked()
    {
        var options = new Http2ServerOptions
        {
            MaxConcurrentStreams = 7,
            MaxHeaderListSize = 20_000,
            StreamReceiveWindow = 300_000,
            ConnectionReceiveWindow = 3_000_000,
        };
        await using var host = Http2ServerHost.Start(options);
        var client = await host.ConnectAsync();

        await client.WriteAsync(Http2Protocol.ClientPreface.ToArray(), ScriptedConnection.SettingsFrame((Http2Protocol.SettingInitialWindowSize, 1000)));

        var first = await client.Connection.NextAnyAsync();
        Assert.Equal(Http2FrameType.Settings, first.Type);
        Assert.False(first.IsAck);
        Assert.Equal(0, first.StreamId);
        Assert.Equal(0, first.Payload.Length % 6);
        var settings = first.Settings.ToDictionary(s => s.Id, s => s.Value); // (a repeated id: the last one counts)
        Assert.Equal(7u, settings[Http2Protocol.SettingMaxConcurrentStreams]);
        Assert.Equal(300_000u, settings[Http2Protocol.SettingInitialWindowSize]);
        Assert.Equal(20_000u, settings[Http2Protocol.SettingMaxHeaderListSize]);
        if (settings.TryGetValue(Http2Protocol.SettingEnablePush, out var push))
            Assert.Equal(0u, push); // RFC 9113 §6.5.2: a server MUST NOT send 1

        var window = await client.Connection.NextAsync(f => f.Type == Http2FrameType.WindowUpdate && f.StreamId == 0, "connection WINDOW_UPDATE");
        Assert.Equal(3_000_000 - Http2Protocol.DefaultWindowSize, window.WindowIncrement);
        await client.Connection.NextAsync(f => f.Type == Http2FrameType.Settings && f.IsAck, "SETTINGS ACK");
        await client.Connection.WriteSettingsAckAsync();

        // The connection serves requests after that.
        await client.AssertUsableAsync(1);
    }

    [Fact]
    public async Task Ping_AnsweredWithAckCarryingTheSameBytes()
    {
        await using var host = Http2ServerHost.Start();
        var client = await host.OpenAsync();
        byte[] opaque = [1, 2, 3, 4, 0xfd, 0xfe, 0xff, 0];

        await client.Connection.WritePingAsync(opaque);

        var ack = await client.Connection.NextAsync(f => f.Type == Http2FrameType.Ping, "PING");
        Assert.True(ack.IsAck);
        Assert.Equal(0, ack.StreamId);
        Assert.Equal(opaque, ack.Payload);
    }

    [Fact]
    public async Task PingAck_FromClient_NotAnswered_ConnectionStaysUsable()
    {
        await using var host = Http2ServerHost.Start();
        var client = await host.OpenAsync();

        await client.Connection.WritePingAsync(new byte[8], ack: true); // an ACK of nothing: ignored (RFC 9113 §6.7)
        var frames = await client.Connection.SyncAsync();

        Assert.DoesNotContain(frames, f => f.Type is Http2FrameType.Ping or Http2FrameType.GoAway);
        await client.AssertUsableAsync(1);
    }

    [Theory]
    [InlineData("GET / HTTP/1.1\r\nHost: {secret}\r\n\r\n")]
    [InlineData("POST /x HTTP/1.1\r\nHost: example.test\r\nContent-Length: 0\r\nX-Token: {secret}\r\n\r\n")]
    [InlineData("GET / HTTP/1.0\r\n\r\n")] // shorter than the HTTP/2 preface
    [InlineData("OPTIONS * HTTP/1.1\r\nHost: {secret}\r\n\r\n")]
    public async Task Http11Request_AnsweredHttp11ErrorSayingHttp2Only_Closed(string request)
    {
        await using var host = Http2ServerHost.Start();
        var secret = Secret();

        var bytes = await ScriptedHttp2Client.ExchangeRawAsync(host.EndPoint, Ascii(request.Replace("{secret}", secret, StringComparison.Ordinal)));

        var response = Encoding.ASCII.GetString(bytes);
        Assert.True(Regex.IsMatch(response, @"^HTTP/1\.1 (505|426) "), $"Not an HTTP/1.1 505 or 426 response: \"{Regex.Escape(response)}\".");
        var end = response.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        Assert.True(end > 0, $"No end of the response headers: \"{response}\".");
        var body = response[(end + 4)..];
        Assert.Contains("HTTP/2", body, StringComparison.OrdinalIgnoreCase);
        ScriptedHttp2Client.AssertCleanText(response, secret);
        Assert.Equal(0, host.App.Calls);
    }

    [Theory]
    [InlineData("000000000000000000000000000000000000000000000000")] // zeros, preface length
    [InlineData("160301020001000200030300112233445566778899aabbccddeeff")] // a TLS ClientHello's start
    [InlineData("505249202a20485454502f322e300d0a0d0a58580d0a0d0a")] // "PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n"
    public async Task GarbagePreface_ConnectionClosed_NothingButSettingsOrGoAwayProtocolError(string hex)
    {
        await using var host = Http2ServerHost.Start();

        var bytes = await ScriptedHttp2Client.ExchangeRawAsync(host.EndPoint, Convert.FromHexString(hex));

        var frames = ScriptedHttp2Client.ParseFrames(bytes);
        Assert.True(bytes.Length == frames.Sum(f => 9 + f.Payload.Length), $"Not only frames: \"{Regex.Escape(Encoding.Latin1.GetString(bytes))}\".");
        foreach (var frame in frames)
        {
            Assert.True(frame.Type is Http2FrameType.Settings or Http2FrameType.WindowUpdate or Http2FrameType.GoAway, $"Unexpected {frame}."); // the server's preface may come first
            if (frame.Type == Http2FrameType.GoAway)
                Assert.Equal(Http2ErrorCode.ProtocolError, frame.ErrorCode);
        }
        Assert.Equal(0, host.App.Calls);
    }

    [Theory]
    [InlineData("Ping")]
    [InlineData("Headers")]
    [InlineData("WindowUpdate")]
    public async Task FirstFrameNotSettings_GoAwayProtocolError(string frameType)
    {
        var type = Enum.Parse<Http2FrameType>(frameType);
        await using var host = Http2ServerHost.Start();
        var client = await host.ConnectAsync();
        var frame = type switch
        {
            Http2FrameType.Ping => ScriptedConnection.Frame(Http2FrameType.Ping, 0, 0, new byte[8]),
            Http2FrameType.Headers => ScriptedConnection.HeaderFrames(1, client.Connection.EncodeBlock(ScriptedHttp2Client.Request()), endStream: true),
            _ => ScriptedConnection.WindowUpdateFrame(0, 1000),
        };

        await client.WriteAsync(Http2Protocol.ClientPreface.ToArray(), frame);

        await client.ExpectConnectionErrorAsync(Http2ErrorCode.ProtocolError);
        Assert.Equal(0, host.App.Calls);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task NoHandshakeWithinTimeout_Closed(bool sendPreface)
    {
        var clock = new TestClock();
        await using var host = Http2ServerHost.Start(new Http2ServerOptions { Time = clock, HandshakeTimeout = TimeSpan.FromSeconds(10) });
        var armed = clock.ArmedCount;
        var client = await host.ConnectAsync();
        if (sendPreface)
            await client.WritePrefaceAsync(); // the preface but no SETTINGS
        await clock.WaitForArmedAsync(armed + 1).Within(); // the server took the connection and armed its timeout
        Assert.False(client.Connection.Closed.IsCompleted, "Closed before the clock moved.");

        clock.AdvanceInSteps(TimeSpan.FromSeconds(11));

        await client.ExpectClosedAsync();
        foreach (var frame in client.AllFrames().Where(f => f.Type == Http2FrameType.GoAway))
            ScriptedHttp2Client.AssertCleanText(ScriptedHttp2Client.DebugText(frame));
    }

    [Fact]
    public async Task NoStreamsForIdleTimeout_GoAwayNoError_Closed()
    {
        var clock = new TestClock();
        await using var host = Http2ServerHost.Start(new Http2ServerOptions { Time = clock, IdleTimeout = TimeSpan.FromSeconds(130) });
        var client = await host.OpenAsync();
        await client.AssertUsableAsync(1);
        await client.Connection.SyncAsync();

        clock.AdvanceInSteps(TimeSpan.FromSeconds(131));

        var goAway = await client.ExpectConnectionErrorAsync(Http2ErrorCode.NoError);
        Assert.Equal(1, goAway.LastStreamId);
    }

    [Fact]
    public async Task IdleTimeout_NotWhileAStreamIsInFlight()
    {
        var clock = new TestClock();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = Http2ServerHost.Start(new Http2ServerOptions { Time = clock, IdleTimeout = TimeSpan.FromSeconds(130) }, async context =>
        {
            await release.Task;
            await context.Response.WriteAsync("late");
        });
        var client = await host.OpenAsync();
        await client.WriteRequestAsync(1, ScriptedHttp2Client.Request());
        await host.App.NextCallAsync();
        await client.Connection.SyncAsync();

        clock.AdvanceInSteps(TimeSpan.FromSeconds(300));
        var frames = await client.Connection.SyncAsync(); // still answers

        Assert.DoesNotContain(frames, f => f.Type == Http2FrameType.GoAway);
        release.SetResult();
        var response = await client.ReadResponseAsync(1);
        Assert.Equal(200, response.Status);
        Assert.Equal("late", Encoding.ASCII.GetString(response.Body));
        Assert.DoesNotContain(client.AllFrames(), f => f.Type == Http2FrameType.GoAway);
    }
}
