using System.Text;
using Esp.Grpc.Http2;
using Xunit;

namespace Esp.Tests.Grpc.Http2;

/// <summary>
/// A connection's repeated header values come back as the same strings (what lets the proxy's
/// HPACK encoder index them again by instance), whatever one-off values come in between.
/// </summary>
public sealed class RememberedValuesTests
{
    private static readonly byte[] Token = Encoding.ASCII.GetBytes("Bearer " + new string('t', 700));
    private static readonly byte[] Path = Encoding.ASCII.GetBytes("/endpoints.examples.bookstore.Bookstore/ListShelves");
    private static readonly byte[] UserAgent = Encoding.ASCII.GetBytes("h2load nghttp2/1.52.0");

    [Fact]
    public void Text_RepeatedValue_SameString()
    {
        var remembered = new RememberedValues();

        var first = remembered.Text(UserAgent);

        Assert.Equal("h2load nghttp2/1.52.0", first);
        Assert.Same(first, remembered.Text(Encoding.ASCII.GetBytes("h2load nghttp2/1.52.0")));
    }

    [Fact]
    public void Text_ShortValues_KnownOnesShared_OthersCopied()
    {
        var remembered = new RememberedValues();

        Assert.Same(remembered.Text("trailers"u8), remembered.Text("trailers"u8));
        Assert.Equal("grpc-go/1", remembered.Text("grpc-go/1"u8));
    }

    [Fact]
    public void Text_AOneOffValueOnEveryCall_RepeatedValuesKeepTheirStrings()
    {
        var remembered = new RememberedValues();
        var token = remembered.Text(Token);
        var path = remembered.Text(Path);
        var userAgent = remembered.Text(UserAgent);

        for (var call = 0; call < 100; call++)
        {
            // A trace header differs on every call: it must not push the repeated values out in turn.
            var traceparent = $"00-{call:x32}-{call:x16}-01";
            Assert.Equal(traceparent, remembered.Text(Encoding.ASCII.GetBytes(traceparent)));
            Assert.Same(token, remembered.Text(Token));
            Assert.Same(path, remembered.Text(Path));
            Assert.Same(userAgent, remembered.Text(UserAgent));
        }
    }

    [Fact]
    public void Text_MoreDistinctValuesThanItKeeps_EveryTextRight()
    {
        var remembered = new RememberedValues();
        var values = Enumerable.Range(0, 20).Select(i => $"value number {i:D4} of twenty, with ÿ").ToArray();

        for (var round = 0; round < 5; round++)
        {
            foreach (var value in values)
                Assert.Equal(value, remembered.Text(Encoding.Latin1.GetBytes(value)));
        }
    }

    [Fact]
    public void ClockReplacement_UsedSlotsSparedOnce()
    {
        var used = new[] { true, false, true, false };
        var hand = 0;

        Assert.Equal(1, ClockReplacement.Next(used, ref hand)); // slot 0 spared, its mark cleared
        Assert.Equal(3, ClockReplacement.Next(used, ref hand)); // slot 2 spared
        Assert.Equal(0, ClockReplacement.Next(used, ref hand)); // slot 0 was spared already
        Assert.Equal([false, false, false, false], used);

        used.AsSpan().Fill(true);
        Assert.Equal(1, ClockReplacement.Next(used, ref hand)); // all used: a full turn, then the next
    }
}
