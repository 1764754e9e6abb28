using Esp.Grpc.Http2.Hpack;
using Xunit;
using static Esp.Tests.Grpc.Http2.Hpack.HpackTesting;

namespace Esp.Tests.Grpc.Http2.Hpack;

public class HpackIntegerTests
{
    [Theory]
    [InlineData("0a", 5, 10)] // RFC 7541 C.1.1
    [InlineData("1f9a0a", 5, 1337)] // C.1.2
    [InlineData("2a", 8, 42)] // C.1.3: starting at an octet boundary
    [InlineData("00", 7, 0)]
    [InlineData("1e", 5, 30)]
    [InlineData("1f00", 5, 31)]
    [InlineData("7f807f", 7, 127 + 127 * 128)]
    [InlineData("0f80808000", 4, 15)] // zero continuation groups are allowed, up to five of them
    [InlineData("1fe0ffffff07", 5, int.MaxValue)]
    public void Read_RfcAndEdgeValues_Decoded(string hex, int prefixBits, int expected)
    {
        var position = 0;

        var value = HpackInteger.Read(Hex(hex), ref position, prefixBits);

        Assert.Equal(expected, value);
        Assert.Equal(hex.Length / 2, position);
    }

    [Theory]
    [InlineData("ea", 5, 10)] // C.1.1 with the representation's own bits set above the prefix
    [InlineData("ff9a0a", 5, 1337)]
    public void Read_BitsAboveThePrefix_Ignored(string hex, int prefixBits, int expected)
    {
        var position = 0;

        Assert.Equal(expected, HpackInteger.Read(Hex(hex), ref position, prefixBits));
    }

    [Theory]
    [InlineData(10, 5, "0a")]
    [InlineData(1337, 5, "1f9a0a")]
    [InlineData(42, 8, "2a")]
    [InlineData(31, 5, "1f00")]
    [InlineData(int.MaxValue, 5, "1fe0ffffff07")]
    public void Write_RfcAndEdgeValues_Encoded(int value, int prefixBits, string expected)
    {
        var destination = new byte[HpackInteger.MaxLength];

        var written = HpackInteger.Write(destination, value, prefixBits, 0);

        Assert.Equal(expected, Convert.ToHexStringLower(destination, 0, written));
    }

    [Fact]
    public void Write_Flags_KeptInTheFirstOctet()
    {
        var destination = new byte[HpackInteger.MaxLength];

        var written = HpackInteger.Write(destination, 1337, 5, 0xE0);

        Assert.Equal("ff9a0a", Convert.ToHexStringLower(destination, 0, written));
    }

    [Fact]
    public void WriteThenRead_ManyValuesAndPrefixes_RoundTrip()
    {
        var destination = new byte[HpackInteger.MaxLength];
        foreach (var prefixBits in new[] { 1, 4, 5, 6, 7, 8 })
        {
            foreach (var value in new[] { 0, 1, 14, 15, 16, 30, 31, 62, 63, 126, 127, 128, 255, 256, 16383, 16384, 1 << 21, (1 << 28) + 5, int.MaxValue - 1, int.MaxValue })
            {
                var written = HpackInteger.Write(destination, value, prefixBits, 0);
                var position = 0;

                Assert.Equal(value, HpackInteger.Read(destination.AsSpan(0, written), ref position, prefixBits));
                Assert.Equal(written, position);
            }
        }
    }

    [Theory]
    [InlineData("", "the block ends inside an integer")]
    [InlineData("1f", "the block ends inside an integer")]
    [InlineData("1f9a", "the block ends inside an integer")]
    [InlineData("1fe0ffffff08", "integer overflows")] // int.MaxValue + 1
    [InlineData("1fffffffff0f", "integer overflows")]
    [InlineData("1fffffffffffffffffffff", "integer overflows")] // 0x1f and ten 0xff
    [InlineData("1f808080808000", "integer overflows")] // a sixth continuation octet, even a zero one
    public void Read_TruncatedOrOverflowing_Throws(string hex, string message)
    {
        var ex = Assert.Throws<HpackException>(() =>
        {
            var position = 0;
            HpackInteger.Read(Hex(hex), ref position, 5);
        });

        Assert.Equal("HPACK: " + message, ex.Message);
    }
}
