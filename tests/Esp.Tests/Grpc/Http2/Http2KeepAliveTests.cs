using Esp.Grpc.Http2;
using Esp.Tests.Infrastructure;
using Xunit;

namespace Esp.Tests.Grpc.Http2;

/// <summary>
/// A backend connection that goes quiet with calls in flight is pinged after the keep-alive delay
/// (60 s here, checked every 20 s); one that does not answer within the timeout is dead, and its
/// calls fail instead of hanging (a backend gone without FIN or RST). The clock is a fake one:
/// connection start, then ticks at 20, 40, 60, 80 s. Each test first makes sure the client has read
/// everything the server sent (a round trip), which counts as heard at the first tick; the quiet time
/// starts there and the PING goes out at the fourth. A pool made to close idle connections (after
/// 120 s here) closes one six ticks after its last call.
/// </summary>
public sealed class Http2KeepAliveTests : IAsyncLifetime
{
    private static readonly TimeSpan Tick = TimeSpan.FromSeconds(20);

    private readonly FakeTimeProvider _time = new();
    private ScriptedHttp2Server _server = null!;
    private Http2ConnectionPool _pool = null!;

    public Task InitializeAsync()
    {
        _server = ScriptedHttp2Server.Start();
        _pool = new Http2ConnectionPool(_server.Address, null, TimeSpan.FromSeconds(5), new Http2KeepAlive(TimeSpan.FromSeconds(60), Tick, _time));
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _pool.DisposeAsync();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task QuietWithCallInFlight_Pinged_AnswerKeepsTheCall()
    {
        var (connection, stream) = await Http2ClientTesting.OpenAsync(_server, _pool, endStream: true);
        await connection.SyncAsync().Within(); // Nothing from the handshake is left to arrive during the ticks.

        AdvanceTicks(4);
        var ping = await connection.NextAsync(f => f.Type == Http2FrameType.Ping && !f.IsAck, "keep-alive PING").Within();
        await connection.WritePingAsync(ping.Payload, ack: true);
        await connection.SyncAsync().Within(); // The client has read the ACK.
        AdvanceTicks(1);

        await connection.WriteResponseHeadersAsync(stream.Id, 200, endStream: true, ("grpc-status", "0"));
        await stream.WaitForResponseAsync().Within();
        Assert.True(stream.EndedWithHeaders);
    }

    [Fact]
    public async Task PingNotAnswered_ConnectionDead_CallFails()
    {
        var (connection, stream) = await Http2ClientTesting.OpenAsync(_server, _pool, endStream: true);
        await connection.SyncAsync().Within(); // Nothing from the handshake is left to arrive during the ticks.

        AdvanceTicks(4);
        await connection.NextAsync(f => f.Type == Http2FrameType.Ping && !f.IsAck, "keep-alive PING").Within();
        AdvanceTicks(1);

        var error = await stream.WaitForResponseAsync().FailsWith<Http2ConnectionException>();
        Assert.Contains("did not answer a PING within 20 s", error.Message, StringComparison.Ordinal);
        await connection.WaitForCloseAsync().Within();
    }

    [Fact]
    public async Task NoCallsInFlight_NeverPinged()
    {
        var (connection, stream) = await Http2ClientTesting.OpenAsync(_server, _pool, endStream: true);
        await connection.WriteResponseHeadersAsync(stream.Id, 200, endStream: true, ("grpc-status", "0"));
        await stream.WaitForResponseAsync().Within();
        stream.Dispose();
        await connection.SyncAsync().Within();

        AdvanceTicks(10);

        var frames = await connection.SyncAsync().Within();
        Assert.DoesNotContain(frames, f => f.Type == Http2FrameType.Ping && !f.IsAck);
        Assert.Equal(1, _pool.ConnectionCount);
    }

    [Fact]
    public async Task NoCallsForTheIdleTimeout_GoAwayAndClosed_NextCallOpensAnotherConnection()
    {
        await using var pool = IdleClosingPool();
        var (connection, stream) = await Http2ClientTesting.OpenAsync(_server, pool, endStream: true);
        await FinishAsync(connection, stream);

        AdvanceTicks(5); // 100 s without calls
        Assert.DoesNotContain(await connection.SyncAsync().Within(), f => f.Type == Http2FrameType.GoAway);
        Assert.Equal(1, pool.ConnectionCount);

        AdvanceTicks(1); // 120 s
        var goAway = await connection.NextAsync(Http2FrameType.GoAway).Within();
        Assert.Equal(Http2ErrorCode.NoError, goAway.ErrorCode);
        await connection.WaitForCloseAsync().Within();
        Assert.Equal(0, pool.ConnectionCount);

        var (second, next) = await Http2ClientTesting.OpenAsync(_server, pool, endStream: true);
        await FinishAsync(second, next);
        Assert.Equal(2, _server.AcceptedCount);
    }

    [Fact]
    public async Task CallsBetweenTicks_IdleTimeCountsFromTheLastOne()
    {
        await using var pool = IdleClosingPool();
        var (connection, stream) = await Http2ClientTesting.OpenAsync(_server, pool, endStream: true);
        await FinishAsync(connection, stream);

        AdvanceTicks(5);
        var again = await pool.StartAsync(endStream: true); // started and finished between two ticks
        await connection.NextHeadersAsync(again.Id).Within();
        await FinishAsync(connection, again);
        AdvanceTicks(5);
        Assert.DoesNotContain(await connection.SyncAsync().Within(), f => f.Type == Http2FrameType.GoAway);
        Assert.Equal(1, pool.ConnectionCount);

        AdvanceTicks(1);
        await connection.NextAsync(Http2FrameType.GoAway).Within();
        await connection.WaitForCloseAsync().Within();
    }

    [Fact]
    public async Task CallInFlight_NeverClosedForIdleness()
    {
        await using var pool = IdleClosingPool();
        var (connection, stream) = await Http2ClientTesting.OpenAsync(_server, pool, endStream: true);
        await connection.SyncAsync().Within();

        for (var i = 0; i < 12; i++) // 240 s, answering the keep-alive PINGs
        {
            AdvanceTicks(1);
            foreach (var ping in (await connection.SyncAsync().Within()).Where(f => f.Type == Http2FrameType.Ping && !f.IsAck))
                await connection.WritePingAsync(ping.Payload, ack: true);
        }

        Assert.Equal(1, pool.ConnectionCount);
        await FinishAsync(connection, stream);
        Assert.Equal(1, _server.AcceptedCount);
    }

    private Http2ConnectionPool IdleClosingPool() =>
        new(_server.Address, null, TimeSpan.FromSeconds(5), new Http2KeepAlive(TimeSpan.FromSeconds(60), Tick, _time, IdleTimeout: TimeSpan.FromSeconds(120)));

    /// <summary>Ends the call and waits until the client has read the end (and forgotten the stream).</summary>
    private static async Task FinishAsync(ScriptedConnection connection, Esp.Grpc.Http2.Http2ClientStream stream)
    {
        await connection.WriteResponseHeadersAsync(stream.Id, 200, endStream: true, ("grpc-status", "0"));
        await stream.WaitForResponseAsync().Within();
        stream.Dispose();
        await connection.SyncAsync().Within();
    }

    private void AdvanceTicks(int ticks)
    {
        for (var i = 0; i < ticks; i++)
            _time.Advance(Tick);
    }
}
