using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Esp.ApiKeys;

/// <summary>
/// The store of <c>--api_keys=FILE</c>, kept current: the file is watched (and also checked every few
/// seconds, for file systems whose change events get lost), re-read when it changes, and the new store
/// swapped in whole. Calls in flight keep the version they were checked against; none is dropped. A file
/// that is broken, half-written or gone leaves the last good store in place, and the log says why.
/// </summary>
internal sealed partial class ReloadingApiKeyStore : IDisposable
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(5);

    private readonly string _path;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly FileSystemWatcher? _watcher;
    private readonly ITimer _poll;
    private readonly Channel<bool> _changes = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private ApiKeyStore _current;
    private byte[] _contentHash;
    private (long Length, DateTime Written) _signature;

    /// <param name="watch">False: notice changes only by checking every few seconds (as when the file cannot be watched).</param>
    public ReloadingApiKeyStore(string path, ApiKeyStoreReadResult initial, TimeProvider time, ILogger logger, bool watch = true)
    {
        _path = Path.GetFullPath(path);
        _time = time;
        _logger = logger;
        _current = initial.Store ?? throw new ArgumentException("The first version of the store must be valid.", nameof(initial));
        _contentHash = initial.ContentHash;
        _signature = SignatureOf(_path);
        LogLoaded(_logger, _path, _current.CountActive(time.GetUtcNow()), _current.CountConsumers(), _current.Keys.Count);

        _ = Task.Run(ReloadOnChangesAsync); // ends when Dispose completes the channel
        _poll = time.CreateTimer(_ => Poll(), null, PollInterval, PollInterval);
        // The file may have changed since it was first read, before anything watched it.
        CheckNow();
        if (!watch)
            return;
        try
        {
            _watcher = new FileSystemWatcher(Path.GetDirectoryName(_path)!, Path.GetFileName(_path))
            {
                NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.CreationTime,
            };
            _watcher.Changed += OnFileEvent;
            _watcher.Created += OnFileEvent;
            _watcher.Renamed += OnFileEvent;
            _watcher.Deleted += OnFileEvent;
            _watcher.EnableRaisingEvents = true;
        }
        catch (Exception ex) when (ex is IOException or ArgumentException or PlatformNotSupportedException)
        {
            // Out of inotify watches, say: the poll still sees every change, a few seconds later.
            LogWatchUnavailable(_logger, _path, ex.Message);
            _watcher?.Dispose();
            _watcher = null;
        }
    }

    public ApiKeyStore Current => Volatile.Read(ref _current);

    /// <summary>Raised after every reload attempt that found new content, good or broken (tests wait on it).</summary>
    public event Action<ApiKeyStoreReadResult>? Reloaded;

    /// <summary>Looks at the file now, as a change event would.</summary>
    public void CheckNow() => _changes.Writer.TryWrite(true);

    private void OnFileEvent(object sender, FileSystemEventArgs e) => CheckNow();

    private void Poll()
    {
        if (SignatureOf(_path) != _signature)
            CheckNow();
    }

    private async Task ReloadOnChangesAsync()
    {
        await foreach (var _ in _changes.Reader.ReadAllAsync())
        {
            try
            {
                Reload();
            }
            catch (Exception ex)
            {
                // Never let the watcher die: the next change is read again.
                LogReloadFailed(_logger, _path, ex.Message);
            }
        }
    }

    private void Reload()
    {
        _signature = SignatureOf(_path);
        if (!File.Exists(_path))
        {
            LogFileMissing(_logger, _path, _current.Keys.Count);
            return;
        }
        var read = ApiKeyStoreFile.Read(_path);
        if (read.ContentHash.AsSpan().SequenceEqual(_contentHash))
        {
            LogUnchanged(_logger, _path);
            return;
        }
        _contentHash = read.ContentHash;
        if (read.Store is { } store)
        {
            Volatile.Write(ref _current, store);
            LogReloaded(_logger, _path, store.CountActive(_time.GetUtcNow()), store.CountConsumers(), store.Keys.Count);
        }
        else
        {
            LogBroken(_logger, _path, read.Errors.Count, string.Join("; ", read.Errors), _current.Keys.Count);
        }
        Reloaded?.Invoke(read);
    }

    private static (long, DateTime) SignatureOf(string path)
    {
        var info = new FileInfo(path);
        return info.Exists ? (info.Length, info.LastWriteTimeUtc) : (-1, default);
    }

    public void Dispose()
    {
        _watcher?.Dispose();
        _poll.Dispose();
        _changes.Writer.TryComplete();
    }

    [LoggerMessage(20, LogLevel.Information, "API key store {Path}: {Active} active keys of {Consumers} consumers ({Total} in the file)", EventName = "ApiKeyStoreLoaded")]
    private static partial void LogLoaded(ILogger logger, string path, int active, int consumers, int total);

    [LoggerMessage(21, LogLevel.Information, "API key store {Path} reloaded: {Active} active keys of {Consumers} consumers ({Total} in the file)", EventName = "ApiKeyStoreReloaded")]
    private static partial void LogReloaded(ILogger logger, string path, int active, int consumers, int total);

    [LoggerMessage(22, LogLevel.Error, "API key store {Path} changed but is broken ({Count} problems: {Problems}); still using the last good version ({Keys} keys)", EventName = "ApiKeyStoreBroken")]
    private static partial void LogBroken(ILogger logger, string path, int count, string problems, int keys);

    [LoggerMessage(23, LogLevel.Warning, "API key store {Path} is gone; still using the last good version ({Keys} keys)", EventName = "ApiKeyStoreMissing")]
    private static partial void LogFileMissing(ILogger logger, string path, int keys);

    [LoggerMessage(24, LogLevel.Warning, "API key store {Path}: cannot watch the file ({Problem}); changes are noticed by checking it every 5 s", EventName = "ApiKeyStoreUnwatched")]
    private static partial void LogWatchUnavailable(ILogger logger, string path, string problem);

    [LoggerMessage(26, LogLevel.Debug, "API key store {Path} was touched but its content is unchanged", EventName = "ApiKeyStoreUnchanged")]
    private static partial void LogUnchanged(ILogger logger, string path);

    [LoggerMessage(25, LogLevel.Error, "API key store {Path}: reloading failed ({Problem}); still using the last good version", EventName = "ApiKeyStoreReloadFailed")]
    private static partial void LogReloadFailed(ILogger logger, string path, string problem);
}
