using System.Threading.Tasks.Sources;

namespace Esp.Grpc.Http2;

/// <summary>
/// A reusable wait for one waiter at a time, without allocating: arm it under the owner's lock,
/// release the lock, await <see cref="WaitAsync"/>; <see cref="Wake"/> completes it if armed.
/// Continuations run inline on the waking thread (the connection's read loop batches wakes so
/// a waiter resumes once per read, and never while the lock is held).
/// </summary>
internal sealed class Http2Signal(Lock syncRoot) : IValueTaskSource
{
    private ManualResetValueTaskSourceCore<bool> _core;
    private bool _armed;

    /// <summary>Prepares a wait; call with the owner's lock held.</summary>
    public void Arm()
    {
        _core.Reset();
        _armed = true;
    }

    public ValueTask WaitAsync() => new(this, _core.Version);

    /// <summary>Completes the armed wait, if any; call without the owner's lock held.</summary>
    public void Wake()
    {
        lock (syncRoot)
        {
            if (!DisarmLocked())
                return;
        }
        Complete();
    }

    /// <summary>
    /// <see cref="Wake"/> in two halves, for a caller that holds the owner's lock anyway: true when
    /// a wait was armed, which the caller then completes with <see cref="Complete"/> outside the lock.
    /// </summary>
    public bool DisarmLocked()
    {
        if (!_armed)
            return false;
        _armed = false;
        return true;
    }

    /// <summary>Completes the wait that <see cref="DisarmLocked"/> disarmed (runs the waiter inline).</summary>
    public void Complete() => _core.SetResult(true);

    void IValueTaskSource.GetResult(short token) => _core.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
