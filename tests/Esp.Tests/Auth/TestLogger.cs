using Microsoft.Extensions.Logging;

namespace Esp.Tests.Auth;

/// <summary>
/// Keeps every log entry, so tests can assert what was logged and wait (bounded) for an event that
/// happens in the background, such as a key refresh finishing.
/// </summary>
internal sealed class TestLogger : ILogger
{
    private readonly Lock _lock = new();
    private readonly List<LogEntry> _entries = [];
    private readonly List<(string EventName, int Count, TaskCompletionSource Signal)> _waiters = [];

    public IReadOnlyList<LogEntry> Entries
    {
        get
        {
            lock (_lock)
                return [.. _entries];
        }
    }

    /// <summary>Completes once <paramref name="count"/> entries of <paramref name="eventName"/> have been logged.</summary>
    public Task WaitForAsync(string eventName, int count = 1)
    {
        lock (_lock)
        {
            if (_entries.Count(e => e.EventName == eventName) >= count)
                return Task.CompletedTask;
            var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((eventName, count, signal));
            return signal.Task;
        }
    }

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        var entry = new LogEntry(logLevel, eventId.Name ?? "", formatter(state, exception));
        lock (_lock)
        {
            _entries.Add(entry);
            foreach (var waiter in _waiters.ToList())
            {
                if (waiter.EventName == entry.EventName && _entries.Count(e => e.EventName == waiter.EventName) >= waiter.Count)
                {
                    waiter.Signal.TrySetResult();
                    _waiters.Remove(waiter);
                }
            }
        }
    }

    public bool IsEnabled(LogLevel logLevel) => true;

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;
}

internal sealed record LogEntry(LogLevel Level, string EventName, string Message);
