using System.Net.Sockets;
using Esp.Grpc.Http2;
using Esp.Grpc.Http2.Hpack;
using Esp.Grpc.Http2.Server;
using Microsoft.AspNetCore.Http;
using Xunit;
using Xunit.Abstractions;

namespace Esp.Tests.Grpc.Http2.Server;

/// <summary>
/// The server's limits against a client that asks too much: concurrent streams, header list size,
/// rapid reset (CVE-2023-44487), and control frames sent by a client that does not read.
/// </summary>
public sealed class Http2ServerLimitTests(ITestOutputHelper output)
{
    [Fact]
    public async Task MoreThanMaxConcurrentStreams_ExtraRefused_AppNeverSeesIt()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = Http2ServerHost.Start(new Http2ServerOptions { MaxConcurrentStreams = 3 }, async context =>
        {
            await release.Task;
            await context.Response.WriteAsync("done");
        });
        var client = await host.OpenAsync();
        Assert.Contains((Http2Protocol.SettingMaxConcurrentStreams, 3u), client.ServerSettings!.Settings);
        foreach (var id in new[] { 1, 3, 5 })
            await client.WriteRequestAsync(id, ScriptedHttp2Client.Request());
        for (var i = 0; i < 3; i++)
            await host.App.NextCallAsync();

        await client.WriteRequestAsync(7, ScriptedHttp2Client.Request());

        await client.ExpectRstAsync(7, Http2ErrorCode.RefusedStream);
        Assert.Equal(3, host.App.Calls);
        release.SetResult();
        foreach (var id in new[] { 1, 3, 5 })
            Assert.Equal(200, (await client.ReadResponseAsync(id)).Status);
        // Those three are closed now (END_STREAM both ways, RFC 9113 §5.1.2): a fourth fits.
        var fourth = await client.RoundTripAsync(9, ScriptedHttp2Client.Request());
        Assert.Null(fourth.Reset);
        Assert.Equal(200, fourth.Status);
        Assert.Equal(4, host.App.Calls);
    }

    [Fact]
    public async Task StreamsResetByTheClient_CountUntilTheAppFinishes()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = Http2ServerHost.Start(new Http2ServerOptions { MaxConcurrentStreams = 2 }, async _ =>
        {
            await release.Task; // ignores RequestAborted: a slow application
        });
        var client = await host.OpenAsync();
        await client.WriteRequestAsync(1, ScriptedHttp2Client.Request(), endStream: false);
        await client.WriteRequestAsync(3, ScriptedHttp2Client.Request(), endStream: false);
        await host.App.NextCallAsync();
        await host.App.NextCallAsync();
        await client.Connection.WriteRstStreamAsync(1, Http2ErrorCode.Cancel);
        await client.Connection.WriteRstStreamAsync(3, Http2ErrorCode.Cancel);

        await client.WriteRequestAsync(5, ScriptedHttp2Client.Request());

        await client.ExpectRstAsync(5, Http2ErrorCode.RefusedStream);
        Assert.Equal(2, host.App.Calls);

        release.SetResult();
        await host.App.WaitForCompletedAsync(2);
        // The client cannot know when the server's bookkeeping follows the application's return:
        // a stream may still be refused for a round or two (refused streams are never processed).
        var id = 7;
        ScriptedResponse response;
        do
        {
            response = await client.RoundTripAsync(id, ScriptedHttp2Client.Request(TestApp.ProbePath, "GET"));
            id += 2;
        }
        while (response.Reset == Http2ErrorCode.RefusedStream && id < 7 + 2 * 50);
        Assert.Null(response.Reset);
        Assert.Equal(200, response.Status);
    }

    [Fact]
    public async Task HeaderListOverMaxHeaderListSize_Answered431_AppNotCalled_HpackStaysInStep()
    {
        await using var host = Http2ServerHost.Start(new Http2ServerOptions { MaxHeaderListSize = 4096 }, context =>
        {
            context.Response.Headers["x-seen-4"] = context.Request.Headers["x-big-4"];
            context.Response.Headers["x-seen-5"] = context.Request.Headers["x-big-5"];
            return Task.CompletedTask;
        });
        var client = await host.OpenAsync();
        var secret = ServerTesting.Secret();
        // Five fields of 900 octets, each added to the dynamic table (the oldest evicted): 4,690 > 4,096.
        var big = Enumerable.Range(1, 5).Select(i => ($"x-big-{i}", new string((char)('a' + i), 880) + secret[..20])).ToArray();

        var oversize = await client.RoundTripAsync(1, ScriptedHttp2Client.Request(headers: big));

        Assert.Null(oversize.Reset);
        Assert.Equal(431, oversize.Status);
        Assert.True(oversize.EndedWithHeaders || oversize.TrailersFrame is not null || oversize.Data.Count > 0);
        ScriptedHttp2Client.AssertCleanText(System.Text.Encoding.UTF8.GetString(oversize.Body), secret[..20]);
        Assert.Equal(0, host.App.Calls);

        // The same two last fields again: our encoder sends them as indexes into the dynamic table
        // the oversize block built; the server must have kept its table in step to read them.
        var block = client.Connection.EncodeBlock(ScriptedHttp2Client.Request(headers: [big[3], big[4]]));
        await client.WriteBlockAsync(3, block);
        var next = await client.ReadResponseAsync(3);

        Assert.Equal(200, next.Status);
        Assert.Equal(big[3].Item2, next.Header("x-seen-4"));
        Assert.Equal(big[4].Item2, next.Header("x-seen-5"));
        Assert.Equal(1, host.App.Calls);
        Assert.True(block.Length < 100, $"The test's encoder did not index the fields ({block.Length} octets).");
    }

    [Fact]
    public async Task RapidReset_AppCallsNeverMoreThanMaxConcurrentStreams()
    {
        const int limit = 10;
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = Http2ServerHost.Start(new Http2ServerOptions { MaxConcurrentStreams = limit }, async _ =>
        {
            await release.Task; // ignores RequestAborted: reset streams keep counting
        });
        var client = await host.OpenAsync();
        var request = client.Connection.EncodeBlock(ScriptedHttp2Client.Request());
        var burst = new List<byte[]>();
        for (var id = 1; id < 2 * 50; id += 2)
        {
            burst.Add(ScriptedConnection.HeaderFrames(id, request, endStream: true));
            burst.Add(ScriptedConnection.RstStreamFrame(id, Http2ErrorCode.Cancel));
        }

        await client.WriteAsync([.. burst]);
        var answer = await client.PingOrGoAwayAsync();

        Assert.True(host.App.Calls <= limit, $"{host.App.Calls} application calls for a limit of {limit}.");
        Assert.True(host.App.MaxRunning <= limit);
        if (answer.Type == Http2FrameType.GoAway)
            Assert.Equal(Http2ErrorCode.EnhanceYourCalm, answer.ErrorCode);
        release.SetResult();
        await host.App.WaitForCompletedAsync(host.App.Calls);
        Assert.True(host.App.MaxRunning <= limit);
    }

    [Fact]
    public async Task RapidResetLoop_10000Pairs_GoAwayEnhanceYourCalm_OrStaysBounded()
    {
        const int limit = 100;
        await using var host = Http2ServerHost.Start(new Http2ServerOptions { MaxConcurrentStreams = limit }, async context =>
        {
            var aborted = new TaskCompletionSource();
            using var registration = context.RequestAborted.Register(() => aborted.TrySetResult());
            await aborted.Task;
        });
        var client = await host.OpenAsync();
        var request = client.Connection.EncodeBlock(ScriptedHttp2Client.Request());
        var sentPairs = 0;

        for (var id = 1; sentPairs < 10_000 && !client.Connection.Closed.IsCompleted;)
        {
            var batch = new List<byte[]>();
            for (var i = 0; i < 100; i++, id += 2, sentPairs++)
            {
                batch.Add(ScriptedConnection.HeaderFrames(id, request, endStream: true));
                batch.Add(ScriptedConnection.RstStreamFrame(id, Http2ErrorCode.Cancel));
            }
            try
            {
                await client.WriteAsync([.. batch]).Within();
            }
            catch (Exception ex) when (ex is IOException or SocketException)
            {
                break; // the server closed the connection
            }
        }
        var answer = await client.PingOrGoAwayAsync();

        output.WriteLine($"{answer.Type} after {sentPairs} open+reset pairs; {host.App.Calls} application calls, at most {host.App.MaxRunning} at once.");
        Assert.True(host.App.MaxRunning <= limit, $"{host.App.MaxRunning} application calls at once for a limit of {limit}.");
        if (answer.Type == Http2FrameType.GoAway)
        {
            Assert.Equal(Http2ErrorCode.EnhanceYourCalm, answer.ErrorCode);
            ScriptedHttp2Client.AssertCleanText(ScriptedHttp2Client.DebugText(answer));
            await client.ExpectClosedAsync();
        }
        else
        {
            Assert.Equal(10_000, sentPairs); // it answered after all of them: still bounded, still serving
        }
    }

    [Theory]
    [InlineData("PING")]
    [InlineData("SETTINGS")]
    public async Task ControlFrameFlood_ClientNotReading_ConnectionClosed(string frame)
    {
        await using var host = Http2ServerHost.Start();
        var client = await host.ConnectAsync(receiveBufferSize: 4096);
        await client.HandshakeAsync();
        client.Connection.PauseReading();
        var one = frame == "PING" ? ScriptedConnection.Frame(Http2FrameType.Ping, 0, 0, new byte[8]) : ScriptedConnection.SettingsFrame();
        var batch = Enumerable.Repeat(one, 1000).SelectMany(b => b).ToArray();
        long sent = 0;

        // Each frame asks for an answer the server cannot send: up to 256 MiB of them.
        await Task.Run(async () =>
        {
            while (sent < 256L * 1024 * 1024)
            {
                try
                {
                    await client.Connection.WriteRawAsync(batch);
                }
                catch (Exception ex) when (ex is IOException or SocketException)
                {
                    return; // the server closed the connection
                }
                sent += batch.Length;
            }
        }).Within();

        await client.ExpectClosedAsync();
        foreach (var goAway in client.AllFrames().Where(f => f.Type == Http2FrameType.GoAway))
            Assert.Equal(Http2ErrorCode.EnhanceYourCalm, goAway.ErrorCode);
    }
}
