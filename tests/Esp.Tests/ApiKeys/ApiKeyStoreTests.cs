using Esp.ApiKeys;
using Xunit;

namespace Esp.Tests.ApiKeys;

/// <summary>Looking keys up: only the exact key finds its record, whatever else is presented.</summary>
public sealed class ApiKeyStoreTests
{
    private static ApiKeyRecord Record(string key, string consumer) =>
        new() { Consumer = consumer, Sha256 = ApiKeySecrets.Hash(key), Created = DateTimeOffset.UnixEpoch };

    [Fact]
    public void Find_EachKey_ItsOwnRecord()
    {
        var keys = Enumerable.Range(0, 50).Select(_ => ApiKeySecrets.NewKey()).ToList();
        var store = new ApiKeyStore(keys.Select((k, i) => Record(k, $"c{i}")).ToList());

        for (var i = 0; i < keys.Count; i++)
            Assert.Equal($"c{i}", store.Find(keys[i])!.Consumer);
    }

    [Fact]
    public void Find_NearMisses_Null()
    {
        var key = ApiKeySecrets.NewKey();
        var store = new ApiKeyStore([Record(key, "c")]);

        Assert.Null(store.Find(key.AsSpan(0, key.Length - 1)));
        Assert.Null(store.Find(key + "x"));
        Assert.Null(store.Find(key.ToUpperInvariant()));
        Assert.Null(store.Find(" " + key));
        Assert.Null(store.Find(""));
        Assert.Null(store.Find(new string('a', ApiKeySecrets.MaxKeyLength + 1)));
    }

    [Fact]
    public void Find_LongestAllowedAndNonAsciiKeys_Hashed()
    {
        var longest = new string('é', ApiKeySecrets.MaxKeyLength);
        var store = new ApiKeyStore([Record(longest, "long")]);

        Assert.Equal("long", store.Find(longest)!.Consumer);
    }

    [Fact]
    public void NewKey_PrefixedUrlSafeAndUnique()
    {
        var keys = Enumerable.Range(0, 100).Select(_ => ApiKeySecrets.NewKey()).ToList();

        Assert.All(keys, k => Assert.Matches("^esp_[A-Za-z0-9_-]{43}$", k));
        Assert.Equal(keys.Count, keys.Distinct().Count());
    }

    [Fact]
    public void Record_SelectorsAndTime_DecideWhatItAllows()
    {
        var record = Record("k", "c") with { Selectors = ["a.B.Get", "a.C.*"], Expires = new DateTimeOffset(2027, 1, 1, 0, 0, 0, TimeSpan.Zero) };

        Assert.True(record.Allows("a.B.Get"));
        Assert.True(record.Allows("a.C.List"));
        Assert.False(record.Allows("a.B.List"));
        Assert.False(record.Allows("a.Cx.List"));
        Assert.False(record.IsExpired(new DateTimeOffset(2026, 12, 31, 23, 59, 59, TimeSpan.Zero)));
        Assert.True(record.IsExpired(new DateTimeOffset(2027, 1, 1, 0, 0, 0, TimeSpan.Zero)));
        Assert.True((record with { Selectors = [] }).Allows("anything.At.All"));
    }

    [Fact]
    public void ConsumerNumber_StableAndPositive()
    {
        var a = Record("k1", "mobile-app");
        var b = Record("k2", "mobile-app");

        Assert.Equal(a.ConsumerNumber, b.ConsumerNumber);
        Assert.NotEqual(a.ConsumerNumber, Record("k3", "web").ConsumerNumber);
        Assert.True(long.Parse(a.ConsumerNumber, System.Globalization.CultureInfo.InvariantCulture) >= 0);
    }
}
