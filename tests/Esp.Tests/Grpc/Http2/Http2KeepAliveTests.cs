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
/// starts there and the PING goes out at the fourth.
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

    private void AdvanceTicks(int ticks)
    {
        for (var i = 0; i < ticks; i++)
            _time.Advance(Tick);
    }
}
