using Esp.Grpc.Http2;
using Xunit;

namespace Esp.Tests.Grpc.Http2;

/// <summary>The constant-time comparison behind the remembered credentials: right at every length and position.</summary>
public sealed class ConstantTimeTests
{
    [Fact]
    public void Equals_EveryLengthUpTo100_EqualSpansEqual_OneDifferentOctetAnywhereNot()
    {
        // Lengths cross the 32- and 16-octet vector loops and the octet-by-octet tail.
        for (var length = 0; length <= 100; length++)
        {
            var left = new byte[length];
            Random.Shared.NextBytes(left);
            var right = left.ToArray();
            Assert.True(ConstantTime.Equals(left, right), $"length {length}");
            for (var at = 0; at < length; at++)
            {
                right[at] ^= 0x01;
                Assert.False(ConstantTime.Equals(left, right), $"length {length}, octet {at}");
                right[at] ^= 0x81;
                Assert.False(ConstantTime.Equals(left, right), $"length {length}, octet {at} (high bit)");
                right[at] ^= 0x80;
            }
        }
    }

    [Fact]
    public void Equals_DifferentLengths_NotEqual()
    {
        Assert.False(ConstantTime.Equals(new byte[32], new byte[33]));
        Assert.False(ConstantTime.Equals([], [0]));
    }
}
