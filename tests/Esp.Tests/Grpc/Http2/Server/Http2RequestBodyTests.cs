using System.Buffers;
using System.IO.Pipelines;
using Esp.Grpc.Http2.Server;
using Xunit;

namespace Esp.Tests.Grpc.Http2.Server;

/// <summary>
/// The server's request body reads as a <see cref="Pipe"/>'s reader does (consumed and examined
/// positions, waiting, cancellation, the writer's completion and error), and credits what the
/// application consumes. The read loop's side is driven here as the connection drives it: under its lock.
/// </summary>
public sealed class Http2RequestBodyTests
{
    private readonly Lock _lock = new();
    private readonly Http2RequestBody _body;
    private readonly CreditRecorder _window = new();

    public Http2RequestBodyTests()
    {
        _body = new Http2RequestBody(_lock);
        _body.Attach(_window);
    }

    [Fact]
    public void NothingWritten_TryReadFalse()
    {
        Assert.False(_body.TryRead(out _));
    }

    [Fact]
    public void CompleteBody_OneReadWithEverything_Completed()
    {
        Write("hello "u8);
        Write("world"u8);
        Complete();

        Assert.True(_body.TryRead(out var result));
        Assert.True(result.IsCompleted);
        Assert.Equal("hello world"u8.ToArray(), result.Buffer.ToArray());
        _body.AdvanceTo(result.Buffer.End);
        Assert.Equal([11], _window.Credits);
    }

    [Fact]
    public async Task ExaminedNotConsumed_NextReadReturnsItAtOnce_ExaminedAll_NextReadWaits()
    {
        Write("abc"u8);

        var first = await _body.ReadAsync();
        _body.AdvanceTo(first.Buffer.Start, first.Buffer.Start); // nothing seen: back at once
        Assert.True(_body.TryRead(out var second));
        Assert.Equal("abc"u8.ToArray(), second.Buffer.ToArray());
        _body.AdvanceTo(second.Buffer.GetPosition(1), second.Buffer.End); // one taken, the rest seen

        var waiting = _body.ReadAsync();
        Assert.False(waiting.IsCompleted);
        Write("d"u8);
        var third = await waiting.AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("bcd"u8.ToArray(), third.Buffer.ToArray());
        _body.AdvanceTo(third.Buffer.End);
        Assert.Equal([1, 3], _window.Credits);
    }

    [Fact]
    public async Task DataArrivingWhileARead_IsOut_StaysPutAndComesNext()
    {
        Write(new byte[3000]);
        Assert.True(_body.TryRead(out var held));
        // More than the buffer holds arrives while the application holds the read: it grows elsewhere.
        var more = Enumerable.Range(0, 10_000).Select(i => (byte)i).ToArray();
        Write(more);
        Assert.Equal(new byte[3000], held.Buffer.ToArray());
        _body.AdvanceTo(held.Buffer.GetPosition(1000), held.Buffer.End);

        var next = await _body.ReadAsync();
        Assert.Equal(new byte[2000].Concat(more), next.Buffer.ToArray());
        _body.AdvanceTo(next.Buffer.End);
        Assert.Equal([1000, 12_000], _window.Credits);
    }

    [Fact]
    public async Task RoomMadeWhileAReadIsOut_TheReadsOctetsNotMoved()
    {
        Write(Enumerable.Range(0, 3000).Select(i => (byte)i).ToArray());
        var first = await _body.ReadAsync();
        _body.AdvanceTo(first.Buffer.GetPosition(2000), first.Buffer.End);
        Write(new byte[1]); // the next read is not empty-handed
        Assert.True(_body.TryRead(out var held));
        var expected = held.Buffer.ToArray();

        // Fits once the consumed 2000 are reclaimed: but not by moving what the held read points at.
        Write(Enumerable.Repeat((byte)0xEE, 2000).ToArray());

        Assert.Equal(expected, held.Buffer.ToArray());
        _body.AdvanceTo(held.Buffer.End);
        Assert.True(_body.TryRead(out var rest));
        Assert.Equal(Enumerable.Repeat((byte)0xEE, 2000), rest.Buffer.ToArray());
    }

    [Fact]
    public void ManySmallWrites_ConsumedAsTheyCome_OctetsInOrder()
    {
        var received = new List<byte>();
        for (var i = 0; i < 2000; i++)
        {
            Write(Enumerable.Range(i, 7).Select(b => (byte)b).ToArray());
            if (i % 3 != 0)
                continue;
            Assert.True(_body.TryRead(out var result));
            var take = result.Buffer.Slice(0, result.Buffer.Length / 2);
            received.AddRange(take.ToArray());
            _body.AdvanceTo(take.End, result.Buffer.End);
        }
        Complete();
        Assert.True(_body.TryRead(out var last));
        received.AddRange(last.Buffer.ToArray());
        _body.AdvanceTo(last.Buffer.End);

        Assert.Equal(Enumerable.Range(0, 2000).SelectMany(i => Enumerable.Range(i, 7).Select(b => (byte)b)), received);
        Assert.Equal(2000 * 7, _window.Credits.Sum());
    }

    [Fact]
    public async Task WriterFails_WaitingReadThrowsItsError_AndSoDoLaterReads()
    {
        Write("partial"u8);
        var read = await _body.ReadAsync();
        _body.AdvanceTo(read.Buffer.Start, read.Buffer.End);
        var waiting = _body.ReadAsync().AsTask();

        lock (_lock)
            _body.CompleteWriting(new IOException("The client reset the stream."));

        Assert.Equal("The client reset the stream.", (await Assert.ThrowsAsync<IOException>(() => waiting)).Message);
        Assert.Throws<IOException>(() => _body.TryRead(out _));
    }

    [Fact]
    public async Task CancelPendingRead_WaitingRead_CanceledResult_ThenReadsGoOn()
    {
        var waiting = _body.ReadAsync();
        _body.CancelPendingRead();

        var canceled = await waiting;
        Assert.True(canceled.IsCanceled);
        _body.AdvanceTo(canceled.Buffer.Start);
        _body.CancelPendingRead(); // before a read: the next one comes back canceled
        Assert.True(_body.TryRead(out var next));
        Assert.True(next.IsCanceled);
        _body.AdvanceTo(next.Buffer.Start);
        Assert.False(_body.TryRead(out _));
    }

    [Fact]
    public async Task TokenCancelled_WaitingReadThrows_ABodyWrittenLaterStillReads()
    {
        using var cancellation = new CancellationTokenSource();
        var waiting = _body.ReadAsync(cancellation.Token).AsTask();

        await cancellation.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        Write("x"u8);
        Assert.True(_body.TryRead(out var result));
        Assert.Equal("x"u8.ToArray(), result.Buffer.ToArray());
    }

    [Fact]
    public void Misuse_ClearErrors()
    {
        Write("x"u8);
        Assert.Throws<InvalidOperationException>(() => _body.AdvanceTo(default));
        Assert.True(_body.TryRead(out var result));
        Assert.Throws<InvalidOperationException>(() => _body.TryRead(out _)); // not advanced yet
        Assert.Throws<ArgumentOutOfRangeException>(() => _body.AdvanceTo(new ReadOnlySequence<byte>(new byte[1]).End));
        Assert.Throws<ArgumentOutOfRangeException>(() => _body.AdvanceTo(result.Buffer.End, result.Buffer.Start));
        _body.AdvanceTo(result.Buffer.End);
        _body.Complete();
        Assert.Throws<InvalidOperationException>(() => _body.TryRead(out _));
    }

    [Fact]
    public void Reset_ServesAnotherStreamFromTheStart()
    {
        Write("old"u8);
        _body.Complete();
        Assert.True(_body.ReaderCompleted);

        lock (_lock)
            _body.Reset();
        var other = new CreditRecorder();
        _body.Attach(other);
        Assert.False(_body.TryRead(out _));
        Write("new"u8);
        Complete();
        Assert.True(_body.TryRead(out var result));
        Assert.Equal("new"u8.ToArray(), result.Buffer.ToArray());
        _body.AdvanceTo(result.Buffer.End);
        Assert.Equal([3], other.Credits);
    }

    private void Write(ReadOnlySpan<byte> data)
    {
        var copy = data.ToArray();
        lock (_lock)
            _body.Write(new ReadOnlySequence<byte>(copy));
    }

    private void Complete()
    {
        lock (_lock)
            _body.CompleteWriting();
    }

    private sealed class CreditRecorder : IRequestBodyWindow
    {
        public List<int> Credits { get; } = [];

        public bool CreditLocked(int count)
        {
            Credits.Add(count);
            return false;
        }

        public void SendCredit()
        {
        }
    }
}
