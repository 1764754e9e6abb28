using Esp.ApiKeys;
using Esp.Tests.Auth;
using Esp.Tests.Infrastructure;
using Microsoft.Extensions.Logging;
using Xunit;

namespace Esp.Tests.ApiKeys;

/// <summary>The store follows its file: changes are picked up, broken or missing files keep the last good version.</summary>
public sealed class ReloadingApiKeyStoreTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("esp-apikeys-").FullName;
    private readonly TestLogger _log = new();
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);
    private readonly string _path;
    private readonly string _firstKey = ApiKeySecrets.NewKey();

    public ReloadingApiKeyStoreTests()
    {
        _path = Path.Combine(_directory, "keys.yaml");
        ApiKeyStoreFile.Update(_path, _ => [Record(_firstKey, "first")]);
    }

    private static ApiKeyRecord Record(string key, string consumer) =>
        new() { Consumer = consumer, Sha256 = ApiKeySecrets.Hash(key), Created = DateTimeOffset.UtcNow };

    /// <summary>Replaces the file at once, as an editor that saves atomically (and esp apikeys) do.</summary>
    private async Task ReplaceAsync(string content)
    {
        var temporary = _path + ".new";
        await File.WriteAllTextAsync(temporary, content);
        File.Move(temporary, _path, overwrite: true);
    }

    private ReloadingApiKeyStore Open(bool watch = true) => new(_path, ApiKeyStoreFile.Read(_path), _time, _log, watch);

    [Fact]
    public async Task KeyAdded_FoundAfterReload_OldKeyStillFound()
    {
        using var store = Open();
        var second = ApiKeySecrets.NewKey();
        Assert.Null(store.Current.Find(second));

        ApiKeyStoreFile.Update(_path, keys => [.. keys, Record(second, "second")]);
        await _log.WaitForAsync("ApiKeyStoreReloaded").DefaultTimeout();

        Assert.Equal("second", store.Current.Find(second)!.Consumer);
        Assert.Equal("first", store.Current.Find(_firstKey)!.Consumer);
    }

    [Fact]
    public async Task KeyRevoked_DisabledAfterReload()
    {
        using var store = Open();

        ApiKeyStoreFile.Update(_path, keys => keys.Select(k => k with { Disabled = true }).ToList());
        await _log.WaitForAsync("ApiKeyStoreReloaded").DefaultTimeout();

        Assert.True(store.Current.Find(_firstKey)!.Disabled);
    }

    [Fact]
    public async Task BrokenFile_LastGoodKept_ProblemsLogged_FixedFileLoaded()
    {
        using var store = Open();
        var before = store.Current;

        await ReplaceAsync("keys:\n  - consumer: x\n    sha256: nope\n");
        await _log.WaitForAsync("ApiKeyStoreBroken").DefaultTimeout();

        Assert.Same(before, store.Current);
        var broken = Assert.Single(_log.Entries, e => e.EventName == "ApiKeyStoreBroken");
        Assert.Equal(LogLevel.Error, broken.Level);
        Assert.Contains("keys.yaml:2: keys[0].created is missing", broken.Message, StringComparison.Ordinal);
        Assert.Contains("keys.yaml:3: keys[0].sha256 must be 64 hex digits", broken.Message, StringComparison.Ordinal);
        Assert.Contains("still using the last good version (1 keys)", broken.Message, StringComparison.Ordinal);

        var second = ApiKeySecrets.NewKey();
        await ReplaceAsync(ApiKeyStoreFile.Format([Record(second, "second")]));
        await _log.WaitForAsync("ApiKeyStoreReloaded").DefaultTimeout();
        Assert.Null(store.Current.Find(_firstKey));
        Assert.NotNull(store.Current.Find(second));
    }

    [Fact]
    public async Task ChangedBetweenFirstReadAndStart_PickedUpAtOnce()
    {
        var first = ApiKeyStoreFile.Read(_path);
        var second = ApiKeySecrets.NewKey();
        ApiKeyStoreFile.Update(_path, keys => [.. keys, Record(second, "second")]);

        using var store = new ReloadingApiKeyStore(_path, first, _time, _log, watch: false);
        await _log.WaitForAsync("ApiKeyStoreReloaded").DefaultTimeout();

        Assert.NotNull(store.Current.Find(second));
    }

    [Fact]
    public async Task FileDeleted_LastGoodKept_Warned()
    {
        using var store = Open();

        File.Delete(_path);
        await _log.WaitForAsync("ApiKeyStoreMissing").DefaultTimeout();

        Assert.NotNull(store.Current.Find(_firstKey));
        Assert.Equal(LogLevel.Warning, Assert.Single(_log.Entries, e => e.EventName == "ApiKeyStoreMissing").Level);
    }

    [Fact]
    public async Task NotWatched_ChangeNoticedByThePeriodicCheck()
    {
        using var store = Open(watch: false);
        var second = ApiKeySecrets.NewKey();
        ApiKeyStoreFile.Update(_path, keys => [.. keys, Record(second, "second")]);
        Assert.Null(store.Current.Find(second));

        _time.Advance(TimeSpan.FromSeconds(5));
        await _log.WaitForAsync("ApiKeyStoreReloaded").DefaultTimeout();

        Assert.NotNull(store.Current.Find(second));
    }

    [Fact]
    public async Task SameBytesRewritten_ReadButNotReloaded()
    {
        using var store = Open(watch: false);
        var before = store.Current;
        await _log.WaitForAsync("ApiKeyStoreUnchanged").DefaultTimeout(); // the check made at start

        await File.WriteAllBytesAsync(_path, await File.ReadAllBytesAsync(_path));
        File.SetLastWriteTimeUtc(_path, DateTime.UtcNow.AddMinutes(1));
        _time.Advance(TimeSpan.FromSeconds(5));
        await _log.WaitForAsync("ApiKeyStoreUnchanged", 2).DefaultTimeout();

        Assert.DoesNotContain(_log.Entries, e => e.EventName == "ApiKeyStoreReloaded");
        Assert.Same(before, store.Current);
    }

    [Fact]
    public void ConcurrentUpdates_NoneLost()
    {
        var keys = Enumerable.Range(0, 16).Select(_ => ApiKeySecrets.NewKey()).ToList();

        Parallel.ForEach(keys, new ParallelOptions { MaxDegreeOfParallelism = 8 }, key => ApiKeyStoreFile.Update(_path, current => [.. current, Record(key, "parallel")]));

        var store = ApiKeyStoreFile.Read(_path).Store!;
        Assert.Equal(17, store.Keys.Count);
        Assert.All(keys, key => Assert.NotNull(store.Find(key)));
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
