using System.Text;
using Esp.Grpc.Http2;
using Microsoft.AspNetCore.Http;
using Xunit;

namespace Esp.Tests.Grpc.Http2.Server;

/// <summary>
/// How streams and connections end: the client resets or goes away, the application fails, the
/// response ends before the request, and the server stops (gracefully, or not).
/// </summary>
public sealed class Http2ServerLifetimeTests
{
    [Fact]
    public async Task ClientResetsWhileTheAppAwaitsTheBody_RequestAbortedFires_ReadEnds()
    {
        var aborted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var readEnded = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = Http2ServerHost.Start(handler: async context =>
        {
            using var registration = context.RequestAborted.Register(() => aborted.TrySetResult());
            try
            {
                var body = await TestApp.ReadBodyAsync(context.Request);
                readEnded.TrySetResult($"completed with {body.Length} bytes");
            }
            catch (Exception ex)
            {
                readEnded.TrySetResult(ex.GetType().Name);
            }
        });
        var client = await host.OpenAsync();
        await client.WriteRequestAsync(1, ScriptedHttp2Client.Request(), endStream: false);
        await client.Connection.WriteDataAsync(1, "abc"u8);
        await host.App.NextCallAsync();

        await client.Connection.WriteRstStreamAsync(1, Http2ErrorCode.Cancel);

        await aborted.Task.Within();
        await readEnded.Task.Within(); // failed, or ended: it does not hang
        await host.App.WaitForCompletedAsync(1);
        await client.AssertUsableAsync(3);
        Assert.DoesNotContain(client.AllFrames(), f => f.StreamId == 1); // nothing sent on a stream the client reset
    }

    [Theory]
    [InlineData("reset")]
    [InlineData("close")]
    public async Task ClientClosesTheConnection_RequestAbortedFiresForEveryStream(string how)
    {
        var aborted = new[] { NewSignal(), NewSignal(), NewSignal() };
        await using var host = Http2ServerHost.Start(handler: async context =>
        {
            var index = int.Parse(context.Request.Path.Value!.AsSpan(1), provider: System.Globalization.CultureInfo.InvariantCulture);
            var signal = new TaskCompletionSource();
            using var registration = context.RequestAborted.Register(() => signal.TrySetResult());
            await signal.Task;
            aborted[index].TrySetResult();
        });
        var client = await host.OpenAsync();
        for (var i = 0; i < 3; i++)
            await client.WriteRequestAsync(1 + 2 * i, ScriptedHttp2Client.Request($"/{i}"), endStream: i != 1);
        for (var i = 0; i < 3; i++)
            await host.App.NextCallAsync();

        if (how == "reset")
            client.Connection.Abort();
        else
            await client.DisposeAsync();

        await Task.WhenAll(aborted.Select(a => a.Task)).Within();
    }

    [Fact]
    public async Task AppThrowsBeforeStartingTheResponse_500OrTrailersOnly_ConnectionSurvives()
    {
        var secret = ServerTesting.Secret();
        await using var host = Http2ServerHost.Start(handler: _ => throw new InvalidOperationException("boom " + secret));
        var client = await host.OpenAsync();

        var response = await client.RoundTripAsync(1, ScriptedHttp2Client.Request());

        Assert.Null(response.Reset);
        Assert.True(response.Status == 500 || (response.EndedWithHeaders && response.Header("grpc-status") is not null),
            $"Neither 500 nor a Trailers-Only answer: {response.Describe()}.");
        ScriptedHttp2Client.AssertCleanText(Encoding.UTF8.GetString(response.Body), secret);
        Assert.DoesNotContain(response.HeadersFrame!.Fields, h => h.Value.Contains(secret, StringComparison.Ordinal));
        await client.AssertUsableAsync(3);
    }

    [Fact]
    public async Task AppThrowsAfterStartingTheResponse_RstInternalError_ConnectionSurvives()
    {
        await using var host = Http2ServerHost.Start(handler: async context =>
        {
            await context.Response.StartAsync();
            await context.Response.Body.WriteAsync("partial"u8.ToArray());
            await context.Response.Body.FlushAsync();
            throw new InvalidOperationException("boom");
        });
        var client = await host.OpenAsync();

        var response = await client.RoundTripAsync(1, ScriptedHttp2Client.Request());

        Assert.Equal(200, response.Status);
        Assert.Equal(Http2ErrorCode.InternalError, response.Reset);
        Assert.DoesNotContain(response.Frames, f => f.EndStream);
        await client.AssertUsableAsync(3);
    }

    [Fact]
    public async Task ResponseCompleteWhileTheRequestBodyIsOpen_RstNoErrorAfterTheResponse()
    {
        await using var host = Http2ServerHost.Start(handler: context => context.Response.WriteAsync("early"));
        var client = await host.OpenAsync();
        await client.WriteRequestAsync(1, ScriptedHttp2Client.Request(), endStream: false);
        await client.Connection.WriteDataAsync(1, "part"u8);

        var response = await client.ReadResponseAsync(1);
        var reset = await client.ExpectRstAsync(1, Http2ErrorCode.NoError);

        Assert.Equal(200, response.Status);
        Assert.Equal("early", Encoding.ASCII.GetString(response.Body));
        var frames = client.AllFrames();
        Assert.True(frames.IndexOf(reset) > frames.IndexOf(response.Frames[^1]), "RST_STREAM came before the end of the response (RFC 9113 §8.1).");
        // What the client sends meanwhile is ignored (RFC 9113 §5.1 closed), and still counts toward the connection window.
        await client.Connection.WriteDataAsync(1, "more"u8, endStream: true);
        await client.AssertUsableAsync(3);
    }

    [Fact]
    public async Task StopAsync_InFlightRequestCompletes_NewStreamRefused_ConnectionClosesAfterIt()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = Http2ServerHost.Start(handler: async context =>
        {
            await release.Task;
            await context.Response.WriteAsync("finished");
            context.Response.AppendTrailer("grpc-status", "0");
        });
        var client = await host.OpenAsync();
        await client.WriteRequestAsync(1, ScriptedHttp2Client.Request());
        await host.App.NextCallAsync();

        var stop = host.Server.StopAsync(CancellationToken.None);
        var goAway = await client.ExpectFinalGoAwayAsync();

        Assert.True(goAway.LastStreamId >= 1, $"GOAWAY's last stream {goAway.LastStreamId} does not cover the stream in flight.");
        var late = goAway.LastStreamId % 2 == 1 ? goAway.LastStreamId + 2 : goAway.LastStreamId + 1; // the next odd id above it
        await client.WriteRequestAsync(late, ScriptedHttp2Client.Request());
        var answer = await client.PingOrGoAwayAsync(); // the server has read the new stream's HEADERS
        Assert.True(answer.Type == Http2FrameType.Ping, $"Frames: {string.Join(", ", client.AllFrames())}");
        Assert.DoesNotContain(client.AllFrames(), f => f.StreamId == late && !(f.Type == Http2FrameType.RstStream && f.ErrorCode == Http2ErrorCode.RefusedStream));
        Assert.Equal(1, host.App.Calls);
        Assert.False(stop.IsCompleted);

        release.SetResult();
        var response = await client.ReadResponseAsync(1);
        Assert.Equal(200, response.Status);
        Assert.Equal("finished", Encoding.ASCII.GetString(response.Body));
        Assert.Equal("0", response.Trailer("grpc-status"));
        await client.ExpectClosedAsync();
        await stop.Within();
        Assert.Equal(1, host.App.Calls);
    }

    [Fact]
    public async Task StopAsync_TokenCancelled_StuckRequestAborted_ConnectionClosed()
    {
        var aborted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = Http2ServerHost.Start(handler: async context =>
        {
            var signal = new TaskCompletionSource();
            using var registration = context.RequestAborted.Register(() => signal.TrySetResult());
            await signal.Task;
            aborted.TrySetResult();
        });
        var client = await host.OpenAsync();
        await client.WriteRequestAsync(1, ScriptedHttp2Client.Request());
        await host.App.NextCallAsync();
        using var cancel = new CancellationTokenSource();

        var stop = host.Server.StopAsync(cancel.Token);
        await client.ExpectFinalGoAwayAsync();
        Assert.False(aborted.Task.IsCompleted);
        cancel.Cancel();

        await aborted.Task.Within();
        await client.ExpectClosedAsync();
        try
        {
            await stop.Within();
        }
        catch (OperationCanceledException)
        {
            // Stopping was cut short by the token: it may say so.
        }
    }

    [Fact]
    public async Task StopAsync_IdleConnection_GoAwayNoError_Closed()
    {
        await using var host = Http2ServerHost.Start();
        var client = await host.OpenAsync();
        await client.AssertUsableAsync(1);

        var stop = host.Server.StopAsync(CancellationToken.None);

        var goAway = await client.ExpectFinalGoAwayAsync();
        Assert.Equal(1, goAway.LastStreamId);
        await client.ExpectClosedAsync();
        await stop.Within();
    }

    [Fact]
    public async Task DisposeAsync_InFlightRequestAborted_ConnectionClosed()
    {
        var aborted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var host = Http2ServerHost.Start(handler: async context =>
        {
            var signal = new TaskCompletionSource();
            using var registration = context.RequestAborted.Register(() => signal.TrySetResult());
            await signal.Task;
            aborted.TrySetResult();
        });
        await using (host)
        {
            var client = await host.OpenAsync();
            await client.WriteRequestAsync(1, ScriptedHttp2Client.Request());
            await host.App.NextCallAsync();

            await host.Server.DisposeAsync().AsTask().Within();

            await aborted.Task.Within();
            await client.ExpectClosedAsync();
        }
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
