using Esp.Auth;
using Xunit;

namespace Esp.Tests.Auth;

/// <summary>The token cache's key comparer: exact text, hashed by the tail.</summary>
public sealed class TokenComparerTests
{
    private static readonly string Tail = new('s', 64);

    [Fact]
    public void SameText_AsStringAndAsSpan_SameHashAndEqual()
    {
        var token = "header.payload." + Tail;
        var copy = new string(token.AsSpan());
        var comparer = TokenComparer.Instance;

        Assert.True(comparer.Equals(token, copy));
        Assert.Equal(comparer.GetHashCode(token), comparer.GetHashCode(copy));
        Assert.Equal(comparer.GetHashCode(token), comparer.GetHashCode(("xx" + token).AsSpan(2)));
        Assert.True(comparer.Equals(token.AsSpan(), copy));
    }

    [Fact]
    public void SameTailDifferentStart_DistinctKeys_EachFoundBySpan()
    {
        var first = "aaaa.payload-one." + Tail;
        var second = "bbbb.payload-two." + Tail;
        var entries = new Dictionary<string, int>(TokenComparer.Instance) { [first] = 1, [second] = 2 };
        var bySpan = entries.GetAlternateLookup<ReadOnlySpan<char>>();

        Assert.False(TokenComparer.Instance.Equals(first, second));
        Assert.True(bySpan.TryGetValue(("Bearer " + first).AsSpan(7), out var one));
        Assert.True(bySpan.TryGetValue(("Bearer " + second).AsSpan(7), out var two));
        Assert.Equal((1, 2), (one, two));
        Assert.False(bySpan.TryGetValue(("cccc.payload-one." + Tail).AsSpan(), out _));
    }

    [Fact]
    public void ShortTokens_WholeTextHashed()
    {
        Assert.True(TokenComparer.Instance.Equals("a.b.c".AsSpan(), "a.b.c"));
        Assert.False(TokenComparer.Instance.Equals("a.b.c".AsSpan(), "a.b.d"));
        Assert.Equal(TokenComparer.Instance.GetHashCode("a.b.c"), TokenComparer.Instance.GetHashCode("a.b.c".AsSpan()));
    }
}
