using Esp.Auth;
using Esp.Auth.Jwt;
using Xunit;

namespace Esp.Tests.Auth;

/// <summary>The verified-token cache on its own: what a remembered hit may and may not return.</summary>
public sealed class VerifiedTokenCacheTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeSeconds(1_800_000_000);
    private static readonly Esp.Config.AuthProvider Provider = Models.Provider("main", "https://issuer.example", "https://issuer.example/jwks");

    private static JwtToken Parsed(int n, long? exp = null)
    {
        var text = TestTokens.Create(TestKeys.Rsa, TestTokens.Payload("https://issuer.example", ["aud"], Now.ToUnixTimeSeconds(), exp ?? Now.ToUnixTimeSeconds() + 3600, sub: $"user-{n}"));
        Assert.True(JwtParser.TryParse(text, out var token, out _));
        return token;
    }

    [Fact]
    public void TryGet_SameHeaderValueAgain_HitsUntilTheEntryIsEvicted()
    {
        var cache = new VerifiedTokenCache(1);
        var first = Parsed(1);
        var header = "Bearer " + first.Raw;
        cache.Add(first, Provider, Now);

        Assert.True(cache.TryGet(header, 7, first.Raw.Length, Now, out var hit));
        Assert.Same(first, hit.Token);
        Assert.True(cache.TryGet(header, 7, first.Raw.Length, Now, out hit)); // the remembered hit
        Assert.Same(first, hit.Token);

        cache.Add(Parsed(2), Provider, Now); // capacity 1: the first goes
        Assert.False(cache.TryGet(header, 7, first.Raw.Length, Now, out _));
        Assert.Equal(1, cache.Count);
    }

    [Fact]
    public void TryGet_RememberedHitPastItsLifetime_MissAndRemoved()
    {
        var cache = new VerifiedTokenCache(10);
        var token = Parsed(1, exp: Now.ToUnixTimeSeconds() + 60);
        cache.Add(token, Provider, Now);
        Assert.True(cache.TryGet(token.Raw, Now, out _));

        Assert.False(cache.TryGet(token.Raw, Now.AddSeconds(60), out _));
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public void TryGet_SameValueOtherRange_FindsThatRangesToken()
    {
        var cache = new VerifiedTokenCache(10);
        var (first, second) = (Parsed(1), Parsed(2));
        var value = first.Raw + "," + second.Raw;
        cache.Add(first, Provider, Now);
        cache.Add(second, Provider, Now);

        Assert.True(cache.TryGet(value, 0, first.Raw.Length, Now, out var hit));
        Assert.Same(first, hit.Token);
        Assert.True(cache.TryGet(value, first.Raw.Length + 1, second.Raw.Length, Now, out hit));
        Assert.Same(second, hit.Token);
        Assert.False(cache.TryGet(value, 1, first.Raw.Length - 1, Now, out _));
    }

    [Fact]
    public void Add_TheSameTokenAgain_OneEntryTheNewOne()
    {
        var cache = new VerifiedTokenCache(10);
        var token = Parsed(1);
        cache.Add(token, Provider, Now);
        Assert.True(cache.TryGet(token.Raw, Now, out var before));

        var again = cache.Add(token, Provider, Now.AddSeconds(10));

        Assert.Equal(1, cache.Count);
        Assert.True(cache.TryGet(token.Raw, Now, out var after));
        Assert.Same(again, after);
        Assert.NotSame(before, after);
    }
}
