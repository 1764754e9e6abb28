using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.ExceptionServices;
using System.Threading.Tasks.Sources;

namespace Esp.Grpc.Http2.Server;

/// <summary>
/// A request's body between the connection's read loop, which writes its DATA here, and the
/// application, which reads it as a <see cref="PipeReader"/> (with <see cref="Pipe"/>'s semantics:
/// what is examined but not consumed comes back with the next read, which waits only when everything
/// was examined). One buffer, guarded by the connection's lock, which the read loop holds anyway: a
/// unary call's body then costs the application three short locks, where a <see cref="Pipe"/> took
/// six of its own besides. What the application consumes is credited back to the client's windows.
/// Flow control bounds what is buffered: the client may not send past the stream's window.
/// </summary>
internal sealed class Http2RequestBody(Lock connectionLock) : PipeReader, IValueTaskSource<ReadResult>
{
    private const int FirstBufferSize = 4096;

    /// <summary>A larger buffer is dropped when the body is kept for another stream.</summary>
    private const int MaxKeptBufferSize = 64 * 1024;

    private readonly Lock _sync = connectionLock;
    private IRequestBodyWindow? _window;

    // Unconsumed data is _buffer[_start.._end).
    private byte[] _buffer = [];
    private int _start;
    private int _end;
    private bool _examinedAll = true; // the application has seen everything there is: its next read waits
    private bool _writerDone;
    private Exception? _writerError;
    private bool _readerDone;
    private bool _cancelNextRead;

    // The read handed out and not yet advanced: the array and offset its positions point into (the
    // data may have moved to a larger array since, from _start on).
    private byte[]? _readBuffer;
    private int _readStart;
    private int _readLength;

    // A read that waits, completed by the read loop, CancelPendingRead or its token.
    private ManualResetValueTaskSourceCore<ReadResult> _waiter = new() { RunContinuationsAsynchronously = true };
    private bool _waiting;
    private CancellationTokenRegistration _waitCancellation;

    /// <summary>The application completed its side.</summary>
    public bool ReaderCompleted => _readerDone;

    /// <summary>Serves the stream of <paramref name="window"/>, from the start (a kept body is reset first).</summary>
    public void Attach(IRequestBodyWindow window) => _window = window;

    // --- The read loop's side, under the connection's lock.

    public void Write(ReadOnlySequence<byte> data)
    {
        if (_writerDone || _readerDone)
            return;
        var length = checked((int)data.Length);
        MakeRoom(length);
        data.CopyTo(_buffer.AsSpan(_end));
        _end += length;
        _examinedAll = false;
        WakeReader();
    }

    /// <summary>The client ended the body, or (with an error) the request cannot go on: reads then throw it.</summary>
    public void CompleteWriting(Exception? error = null)
    {
        if (_writerDone)
            return;
        _writerDone = true;
        _writerError = error;
        WakeReader();
    }

    /// <summary>Makes the body ready for another stream of the connection (under its lock).</summary>
    public void Reset()
    {
        _window = null;
        _start = _end = 0;
        _examinedAll = true;
        _writerDone = _readerDone = _cancelNextRead = _waiting = false;
        _writerError = null;
        _readBuffer = null;
        _waitCancellation = default;
        if (_buffer.Length > MaxKeptBufferSize)
            _buffer = [];
    }

    private void MakeRoom(int length)
    {
        if (_buffer.Length - _end >= length)
            return;
        var unconsumed = _end - _start;
        var needed = checked(unconsumed + length);
        var target = _buffer;
        // Data a read handed out stays where it is until that read is advanced.
        if (needed > _buffer.Length || _readBuffer is not null)
            target = new byte[Math.Max(needed, Math.Max(FirstBufferSize, 2 * _buffer.Length))];
        _buffer.AsSpan(_start, unconsumed).CopyTo(target);
        _buffer = target;
        _start = 0;
        _end = unconsumed;
    }

    private void WakeReader()
    {
        if (!_waiting)
            return;
        _waiting = false;
        _waitCancellation.Unregister();
        _waitCancellation = default;
        if (_writerError is { } error)
            _waiter.SetException(error);
        else
            _waiter.SetResult(HandOut(canceled: false));
    }

    // --- The application's side.

    public override bool TryRead(out ReadResult result)
    {
        lock (_sync)
        {
            if (TryReadLocked(out result))
                return true;
        }
        result = default;
        return false;
    }

    public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested)
            return ValueTask.FromCanceled<ReadResult>(cancellationToken);
        lock (_sync)
        {
            if (TryReadLocked(out var result))
                return new ValueTask<ReadResult>(result);
            _waiter.Reset();
            _waiting = true;
            // Lock is re-entrant: a token cancelled meanwhile runs OnWaitCancelled here, at once.
            if (cancellationToken.CanBeCanceled)
                _waitCancellation = cancellationToken.UnsafeRegister(static (state, token) => ((Http2RequestBody)state!).OnWaitCancelled(token), this);
            return new ValueTask<ReadResult>(this, _waiter.Version);
        }
    }

    private bool TryReadLocked(out ReadResult result)
    {
        if (_readerDone)
            throw new InvalidOperationException("The request body's reader has completed.");
        if (_readBuffer is not null || _waiting)
            throw new InvalidOperationException("A read of the request body is already in progress: advance it first.");
        if (_cancelNextRead)
        {
            _cancelNextRead = false;
            result = HandOut(canceled: true);
            return true;
        }
        if (_writerError is { } error)
            ExceptionDispatchInfo.Throw(error);
        if (!_examinedAll || _writerDone)
        {
            result = HandOut(canceled: false);
            return true;
        }
        result = default;
        return false;
    }

    private ReadResult HandOut(bool canceled)
    {
        _readBuffer = _buffer;
        _readStart = _start;
        _readLength = _end - _start;
        return new ReadResult(new ReadOnlySequence<byte>(_buffer, _start, _readLength), canceled, _writerDone);
    }

    private void OnWaitCancelled(CancellationToken token)
    {
        lock (_sync)
        {
            if (!_waiting)
                return;
            _waiting = false;
            _waitCancellation = default;
            _waiter.SetException(new OperationCanceledException(token));
        }
    }

    public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
    {
        bool send;
        lock (_sync)
        {
            if (_readBuffer is not { } read)
                throw new InvalidOperationException("No read of the request body to advance.");
            var consumedCount = OffsetInRead(read, consumed, nameof(consumed));
            var examinedCount = OffsetInRead(read, examined, nameof(examined));
            if (examinedCount < consumedCount)
                throw new ArgumentOutOfRangeException(nameof(examined), "The examined position is before the consumed one.");
            _readBuffer = null;
            // The read's first octet is at _start now, in whichever array holds the data.
            _examinedAll = _start + examinedCount >= _end;
            _start += consumedCount;
            if (_start == _end)
                _start = _end = 0;
            send = consumedCount > 0 && _window is { } window && window.CreditLocked(consumedCount);
        }
        if (send)
            _window?.SendCredit();
    }

    private int OffsetInRead(byte[] read, SequencePosition position, string name)
    {
        var offset = position.GetInteger() - _readStart;
        if (!ReferenceEquals(position.GetObject(), read) || offset < 0 || offset > _readLength)
            throw new ArgumentOutOfRangeException(name, "The position is not in the last read's buffer.");
        return offset;
    }

    public override void CancelPendingRead()
    {
        lock (_sync)
        {
            if (!_waiting)
            {
                _cancelNextRead = true;
                return;
            }
            _waiting = false;
            _waitCancellation.Unregister();
            _waitCancellation = default;
            _waiter.SetResult(HandOut(canceled: true));
        }
    }

    public override void Complete(Exception? exception = null)
    {
        lock (_sync)
        {
            _readerDone = true;
            _readBuffer = null;
        }
    }

    ReadResult IValueTaskSource<ReadResult>.GetResult(short token) => _waiter.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<ReadResult>.GetStatus(short token) => _waiter.GetStatus(token);

    void IValueTaskSource<ReadResult>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _waiter.OnCompleted(continuation, state, token, flags);
}

/// <summary>Where a request body's consumed octets go back to the client: its stream's and connection's windows.</summary>
internal interface IRequestBodyWindow
{
    /// <summary>Credits <paramref name="count"/> consumed octets (under the connection's lock); true when a WINDOW_UPDATE waits to be sent.</summary>
    bool CreditLocked(int count);

    /// <summary>Sends what <see cref="CreditLocked"/> queued (outside the lock).</summary>
    void SendCredit();
}
