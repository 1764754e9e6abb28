using System.Buffers;
using System.IO.Pipelines;
using Esp.Forwarding;
using Esp.Tests.Infrastructure;
using Microsoft.AspNetCore.Connections;
using Xunit;

namespace Esp.Tests.Forwarding;

/// <summary>The request body pump tells a caller's failure from the backend's, whichever call of the caller's body reader fails.</summary>
public sealed class RequestBodyPumpTests
{
    private static readonly Func<ReadOnlySequence<byte>, bool, ValueTask> Discard = static (_, _) => ValueTask.CompletedTask;

    [Fact]
    public async Task CallerConnectionFaultsBetweenReadAndAdvance_CallerFailed()
    {
        var pump = new RequestBodyPump(new FaultingReader(faultOnRead: false));

        await Assert.ThrowsAsync<ConnectionAbortedException>(() => pump.PumpAsync(Discard, CancellationToken.None));

        Assert.True(pump.CallerFailed);
        Assert.Equal(5, pump.BytesSent);
    }

    [Fact]
    public async Task CallerConnectionFaultsOnRead_CallerFailed()
    {
        var pump = new RequestBodyPump(new FaultingReader(faultOnRead: true));

        await Assert.ThrowsAsync<ConnectionAbortedException>(() => pump.PumpAsync(Discard, CancellationToken.None));

        Assert.True(pump.CallerFailed);
    }

    [Fact]
    public async Task BackendWriteFails_NotTheCaller()
    {
        var body = new Pipe();
        await body.Writer.WriteAsync(new byte[5]);
        var pump = new RequestBodyPump(body.Reader);

        await Assert.ThrowsAsync<IOException>(() =>
            pump.PumpAsync(static (_, _) => ValueTask.FromException(new IOException("The backend connection broke.")), CancellationToken.None));

        Assert.False(pump.CallerFailed);
    }

    [Fact]
    public async Task CompleteBody_TakenWhole_ThenSent()
    {
        var body = new Pipe();
        await body.Writer.WriteAsync(new byte[] { 0, 0, 0, 0, 2, 8, 1 });
        await body.Writer.CompleteAsync();
        var pump = new RequestBodyPump(body.Reader);

        Assert.True(pump.TryTakeComplete(out var taken));
        Assert.Equal(7, taken.Length);
        pump.Sent(taken);

        Assert.Equal(7, pump.BytesSent);
    }

    [Fact]
    public async Task PartialBody_LeftForThePump_NothingLost()
    {
        var body = new Pipe();
        await body.Writer.WriteAsync(new byte[] { 0, 0, 0, 0, 2 });
        var pump = new RequestBodyPump(body.Reader);

        Assert.False(pump.TryTakeComplete(out _));

        var written = new List<byte>();
        var ended = false;
        var pumping = pump.PumpAsync((data, end) =>
        {
            written.AddRange(data.ToArray());
            ended |= end;
            return ValueTask.CompletedTask;
        }, CancellationToken.None);
        await body.Writer.WriteAsync(new byte[] { 8, 1 });
        await body.Writer.CompleteAsync();
        await pumping;

        Assert.Equal(new byte[] { 0, 0, 0, 0, 2, 8, 1 }, written);
        Assert.True(ended);
        Assert.Equal(7, pump.BytesSent);
    }

    [Fact]
    public async Task WaitForComplete_BodyInPieces_TakenWhole()
    {
        var body = new Pipe();
        var pump = new RequestBodyPump(body.Reader);
        var waiting = pump.WaitForCompleteAsync(limit: 1024, Minute, TimeProvider.System, CancellationToken.None).AsTask();
        await body.Writer.WriteAsync(new byte[] { 0, 0, 0, 0, 2 });
        await body.Writer.WriteAsync(new byte[] { 8, 1 });
        await body.Writer.CompleteAsync();

        Assert.Equal(BodyWait.Complete, await waiting.DefaultTimeout());
        Assert.True(pump.TryTakeComplete(out var taken));
        Assert.Equal(new byte[] { 0, 0, 0, 0, 2, 8, 1 }, taken.ToArray());
    }

    private static readonly TimeSpan Minute = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task WaitForComplete_CallerSendsNothing_StalledAfterTheTimeout_NotTheCallersFailure()
    {
        var time = new FakeTimeProvider();
        var pump = new RequestBodyPump(new Pipe().Reader);
        var waiting = pump.WaitForCompleteAsync(limit: 1024, Minute, time, CancellationToken.None).AsTask();

        time.Advance(TimeSpan.FromSeconds(59));
        Assert.False(waiting.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal(BodyWait.Stalled, await waiting.DefaultTimeout());
        Assert.False(pump.CallerFailed);
    }

    [Fact]
    public Task WaitForComplete_PartsKeepComing_QuietTimeCountsFromTheLastOne() =>
        // Off xUnit's synchronization context, with an inline reader: the wait has seen each part
        // (and restarted its quiet time) by the time the write returns.
        Task.Run(async () =>
        {
            var time = new FakeTimeProvider();
            var body = new Pipe(new PipeOptions(readerScheduler: PipeScheduler.Inline));
            var pump = new RequestBodyPump(body.Reader);
            var waiting = pump.WaitForCompleteAsync(limit: 1024, Minute, time, CancellationToken.None).AsTask();

            time.Advance(TimeSpan.FromSeconds(50));
            await body.Writer.WriteAsync(new byte[] { 0, 0, 0 });
            time.Advance(TimeSpan.FromSeconds(50));
            Assert.False(waiting.IsCompleted);
            await body.Writer.WriteAsync(new byte[] { 0, 1, 8 });
            await body.Writer.CompleteAsync();

            Assert.Equal(BodyWait.Complete, await waiting.DefaultTimeout());
            Assert.True(pump.TryTakeComplete(out var taken));
            Assert.Equal(6, taken.Length);
        });

    [Fact]
    public async Task WaitForComplete_CallerGoneBeforeTheTimeout_ThrowsAsTheCallersFailure()
    {
        var time = new FakeTimeProvider();
        using var aborted = new CancellationTokenSource();
        var pump = new RequestBodyPump(new Pipe().Reader);
        var waiting = pump.WaitForCompleteAsync(limit: 1024, Minute, time, aborted.Token).AsTask();

        await aborted.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting).DefaultTimeout();
        Assert.True(pump.CallerFailed);
    }

    [Fact]
    public async Task WaitForComplete_OverTheLimit_GivesUpAndThePumpGetsEverythingWithoutNewData()
    {
        var body = new Pipe();
        var pump = new RequestBodyPump(body.Reader);
        await body.Writer.WriteAsync(new byte[100]);

        Assert.Equal(BodyWait.TooLarge, await pump.WaitForCompleteAsync(limit: 10, Minute, TimeProvider.System, CancellationToken.None).AsTask().DefaultTimeout());

        // No more data comes (a caller out of flow-control window): the pump must still get the 100 bytes.
        var got = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        var pumping = pump.PumpAsync((data, _) =>
        {
            got.TrySetResult(data.Length);
            return ValueTask.CompletedTask;
        }, CancellationToken.None);
        Assert.Equal(100, await got.Task.DefaultTimeout());
        await body.Writer.CompleteAsync();
        await pumping.DefaultTimeout();
    }

    [Fact]
    public async Task Stop_EndsAPumpWaitingForTheCaller()
    {
        var body = new Pipe();
        var pump = new RequestBodyPump(body.Reader);
        var pumping = pump.PumpAsync(Discard, CancellationToken.None);

        pump.Stop();
        await pumping;

        Assert.False(pump.CallerFailed);
    }

    /// <summary>Kestrel's request body reader when the connection faults: a read, or the advance after it, throws.</summary>
    private sealed class FaultingReader(bool faultOnRead) : PipeReader
    {
        public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default) =>
            faultOnRead
                ? throw new ConnectionAbortedException("The HTTP/2 connection faulted.")
                : new(new ReadResult(new ReadOnlySequence<byte>(new byte[5]), isCanceled: false, isCompleted: false));

        public override void AdvanceTo(SequencePosition consumed) => throw new ConnectionAbortedException("The HTTP/2 connection faulted.");

        public override void AdvanceTo(SequencePosition consumed, SequencePosition examined) => AdvanceTo(consumed);

        public override bool TryRead(out ReadResult result) => throw new NotSupportedException();

        public override void CancelPendingRead()
        {
        }

        public override void Complete(Exception? exception = null)
        {
        }
    }
}
