using Esp.ApiKeys;
using Esp.Tests.Tools;
using Esp.Tools;
using Xunit;

namespace Esp.Tests.ApiKeys;

/// <summary><c>esp apikeys create|list|revoke</c> as a person types them.</summary>
public sealed class ApiKeysCommandTests : IDisposable
{
    private readonly KeyFiles _files = new();

    private string Store => _files.PathOf("keys.yaml");

    private static Task<(int ExitCode, string Output, string Errors)> RunAsync(params string[] args) =>
        ToolCommands.RunAsync(ApiKeysCommand.Create(), ["apikeys", .. args]);

    private static string LastLine(string output) => output.TrimEnd('\n').Split('\n')[^1];

    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task Create_NewStore_KeyIsTheLastLine_OnlyItsHashStored()
    {
        var (exitCode, output, errors) = await RunAsync("create", "--store", Store, "--consumer", "mobile-app");

        Assert.True(exitCode == 0, errors);
        var key = LastLine(output);
        Assert.Matches("^esp_[A-Za-z0-9_-]{43}$", key);
        var text = await File.ReadAllTextAsync(Store);
        Assert.DoesNotContain(key, text, StringComparison.Ordinal);
        Assert.DoesNotContain(key[4..], text, StringComparison.Ordinal);
        var record = ApiKeyStoreFile.Read(Store).Store!.Find(key)!;
        Assert.Equal("mobile-app", record.Consumer);
        Assert.Contains($"created API key {record.Id} for consumer mobile-app", output, StringComparison.Ordinal);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Store));
    }

    [Fact]
    public async Task Create_ExpiryAndSelectors_Stored()
    {
        var (exitCode, output, errors) = await RunAsync("create", "--store", Store, "--consumer", "web", "--expires", "2099-01-01",
            "--selectors", "a.B.Get,a.B.List", "a.C.*");

        Assert.True(exitCode == 0, errors);
        var record = ApiKeyStoreFile.Read(Store).Store!.Find(LastLine(output))!;
        Assert.Equal(new DateTimeOffset(2099, 1, 1, 0, 0, 0, TimeSpan.Zero), record.Expires);
        Assert.Equal(["a.B.Get", "a.B.List", "a.C.*"], record.Selectors);
        Assert.Contains("expires: 2099-01-01T00:00:00Z", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Create_TwoKeysForOneConsumer_BothKept()
    {
        var first = LastLine((await RunAsync("create", "--store", Store, "--consumer", "web")).Output);
        var second = LastLine((await RunAsync("create", "--store", Store, "--consumer", "web")).Output);

        var store = ApiKeyStoreFile.Read(Store).Store!;
        Assert.NotEqual(first, second);
        Assert.NotNull(store.Find(first));
        Assert.NotNull(store.Find(second));
    }

    [Fact]
    public async Task Create_BadInput_EveryProblemListed_NothingWritten()
    {
        var (exitCode, output, errors) = await RunAsync("create", "--store", Store, "--consumer", "two words", "--expires", "2001-01-01",
            "--selectors", "a..b");

        Assert.Equal(2, exitCode);
        Assert.Empty(output);
        Assert.Contains("esp apikeys create: --consumer: 'two words' is not a valid consumer name", errors, StringComparison.Ordinal);
        Assert.Contains("esp apikeys create: --expires: 2001-01-01T00:00:00Z is already past", errors, StringComparison.Ordinal);
        Assert.Contains("esp apikeys create: --selectors: 'a..b' is not a method selector", errors, StringComparison.Ordinal);
        Assert.False(File.Exists(Store));
    }

    [Fact]
    public async Task Create_BrokenStore_RefusedAndLeftAlone()
    {
        var broken = _files.Write("keys.yaml", "keys:\n  - consumer: x\n");

        var (exitCode, _, errors) = await RunAsync("create", "--store", broken, "--consumer", "web");

        Assert.Equal(2, exitCode);
        Assert.Contains("keys.yaml:2: keys[0].sha256 is missing", errors, StringComparison.Ordinal);
        Assert.Contains("(the store is broken; fix it first)", errors, StringComparison.Ordinal);
        Assert.Equal("keys:\n  - consumer: x\n", await File.ReadAllTextAsync(broken));
    }

    [Fact]
    public async Task List_ShowsIdsConsumersStatesAndLimits_NeverKeys()
    {
        var mobile = LastLine((await RunAsync("create", "--store", Store, "--consumer", "mobile", "--selectors", "a.B.*")).Output);
        var web = LastLine((await RunAsync("create", "--store", Store, "--consumer", "web", "--expires", "2099-01-01")).Output);
        await RunAsync("revoke", "--store", Store, "--consumer", "web");

        var (exitCode, output, errors) = await RunAsync("list", "--store", Store);

        Assert.True(exitCode == 0, errors);
        var lines = output.TrimEnd('\n').Split('\n');
        Assert.Matches("^id +consumer +state +created +expires +methods$", lines[0]);
        Assert.Matches("^[0-9a-f]{12} +mobile +active +20[0-9-]+T[0-9:]+Z +never +a\\.B\\.\\*$", lines[1]);
        Assert.Matches("^[0-9a-f]{12} +web +revoked +20[0-9-]+T[0-9:]+Z +2099-01-01T00:00:00Z +all$", lines[2]);
        Assert.Equal("2 keys, 1 active", lines[3]);
        Assert.DoesNotContain(mobile, output, StringComparison.Ordinal);
        Assert.DoesNotContain(web, output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Revoke_OneKeyById_OthersOfTheConsumerStay()
    {
        var first = LastLine((await RunAsync("create", "--store", Store, "--consumer", "web")).Output);
        var second = LastLine((await RunAsync("create", "--store", Store, "--consumer", "web")).Output);
        var firstId = ApiKeyStoreFile.Read(Store).Store!.Find(first)!.Id;

        var (exitCode, output, errors) = await RunAsync("revoke", "--store", Store, "--consumer", "web", "--id", firstId);

        Assert.True(exitCode == 0, errors);
        Assert.Equal($"revoked 1 key of consumer web: {firstId}\n", output);
        var store = ApiKeyStoreFile.Read(Store).Store!;
        Assert.True(store.Find(first)!.Disabled);
        Assert.False(store.Find(second)!.Disabled);
    }

    [Fact]
    public async Task Revoke_NothingActive_Exit1_FileUnchanged()
    {
        await RunAsync("create", "--store", Store, "--consumer", "web");
        var before = await File.ReadAllTextAsync(Store);

        var (exitCode, _, errors) = await RunAsync("revoke", "--store", Store, "--consumer", "nobody");

        Assert.Equal(1, exitCode);
        Assert.Contains("consumer nobody has no active key", errors, StringComparison.Ordinal);
        Assert.Equal(before, await File.ReadAllTextAsync(Store));
    }

    [Fact]
    public async Task List_MissingStore_Exit2_SaysHowToCreateIt()
    {
        var (exitCode, _, errors) = await RunAsync("list", "--store", Store);

        Assert.Equal(2, exitCode);
        Assert.Contains($"does not exist: create it with esp apikeys create --store {Store} --consumer NAME", errors, StringComparison.Ordinal);
    }

    public void Dispose() => _files.Dispose();
}
