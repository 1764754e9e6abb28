using System.Text;
using Esp.Grpc.Http2.Hpack;
using Xunit;
using static Esp.Tests.Grpc.Http2.Hpack.HpackTesting;

namespace Esp.Tests.Grpc.Http2.Hpack;

public class HuffmanTests
{
    /// <summary>Every Huffman-coded string of RFC 7541 Appendix C.4 and C.6.</summary>
    public static TheoryData<string, string> RfcStrings => new()
    {
        { "www.example.com", "f1e3 c2e5 f23a 6ba0 ab90 f4ff" },
        { "no-cache", "a8eb 1064 9cbf" },
        { "custom-key", "25a8 49e9 5ba9 7d7f" },
        { "custom-value", "25a8 49e9 5bb8 e8b4 bf" },
        { "302", "6402" },
        { "307", "640e ff" },
        { "private", "aec3 771a 4b" },
        { "gzip", "9bd9 ab" },
        { "Mon, 21 Oct 2013 20:13:21 GMT", "d07a be94 1054 d444 a820 0595 040b 8166 e082 a62d 1bff" },
        { "Mon, 21 Oct 2013 20:13:22 GMT", "d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff" },
        { "https://www.example.com", "9d29 ad17 1863 c78f 0b97 c8e9 ae82 ae43 d3" },
        {
            "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1",
            "94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07"
        },
    };

    [Theory]
    [MemberData(nameof(RfcStrings))]
    public void Decode_RfcExample_GivesTheString(string text, string encoded)
    {
        Assert.Equal(text, Decode(Hex(encoded)));
    }

    [Theory]
    [MemberData(nameof(RfcStrings))]
    public void Encode_RfcExample_GivesTheRfcOctets(string text, string encoded)
    {
        var source = Latin1(text);
        var destination = new byte[Huffman.GetEncodedLength(source)];

        var written = Huffman.Encode(source, destination);

        Assert.Equal(Hex(encoded), destination[..written]);
        Assert.Equal(destination.Length, written);
    }

    [Fact]
    public void EncodeThenDecode_EveryOctetAlone_RoundTrips()
    {
        for (var octet = 0; octet < 256; octet++)
            Assert.Equal([(byte)octet], RoundTrip([(byte)octet]));
    }

    [Fact]
    public void EncodeThenDecode_RandomStrings_RoundTrip()
    {
        var random = new Random(7541);
        for (var i = 0; i < 2000; i++)
        {
            var source = new byte[random.Next(0, 300)];
            random.NextBytes(source);

            Assert.Equal(source, RoundTrip(source));
        }
    }

    [Fact]
    public void Decode_Empty_GivesNothing()
    {
        Assert.Equal(0, Huffman.Decode([], []));
    }

    [Theory]
    [InlineData("1f", "a")] // 'a' is 00011: three bits of padding
    [InlineData("07", "0")] // '0' is 00000
    [InlineData("0000 007f", "00000")] // 25 bits of '0', then 7 of padding
    [InlineData("ffaf", "#")] // '#' is 12 bits: 1111 1111 1010
    public void Decode_ShortStrings_Decoded(string hex, string expected)
    {
        Assert.Equal(expected, Decode(Hex(hex)));
    }

    [Theory]
    [InlineData("1f ff", "Huffman padding longer than 7 bits")] // 'a' then 11 ones
    [InlineData("ff", "Huffman padding longer than 7 bits")] // nothing but 8 ones
    [InlineData("ffff ff", "Huffman padding longer than 7 bits")] // 24 ones
    [InlineData("00", "Huffman padding is not the most significant bits of EOS (all ones)")] // '0' then 000
    [InlineData("18", "Huffman padding is not the most significant bits of EOS (all ones)")] // 'a' then 000
    [InlineData("1b", "Huffman padding is not the most significant bits of EOS (all ones)")] // 'a' then 011
    [InlineData("fe", "Huffman string ends inside a code")] // 8 bits of a longer code
    [InlineData("18ff ffff ff", "EOS symbol inside a Huffman string")] // 'a', 'a', EOS (30 ones) at the end
    [InlineData("1fff ffff e3", "EOS symbol inside a Huffman string")] // 'a', EOS, 'a'
    [InlineData("ffff fffc", "EOS symbol inside a Huffman string")] // EOS first
    public void Decode_Malformed_Throws(string hex, string message)
    {
        var ex = Assert.Throws<HpackException>(() => Decode(Hex(hex)));

        Assert.Equal("HPACK: " + message, ex.Message);
    }

    [Fact]
    public void Decode_EosInTheMiddleOfALongString_Throws()
    {
        // Octets 'a' (00011) × 16, EOS (30 ones), 'a' × 16: EOS is met with many octets still to read.
        var bits = new System.Text.StringBuilder();
        bits.Insert(0, "00011", 16).Append('1', 30).Insert(bits.Length, "00011", 16);
        bits.Append('1', (8 - bits.Length % 8) % 8);
        var encoded = Enumerable.Range(0, bits.Length / 8).Select(i => Convert.ToByte(bits.ToString(i * 8, 8), 2)).ToArray();

        var ex = Assert.Throws<HpackException>(() => Decode(encoded));

        Assert.Equal("HPACK: EOS symbol inside a Huffman string", ex.Message);
    }

    [Theory]
    [InlineData(0xFF, "HPACK: Huffman padding longer than 7 bits")]
    [InlineData(0xFE, "HPACK: Huffman string ends inside a code")]
    public void Decode_LongStringWithAnExtraOctet_Throws(byte extra, string message)
    {
        var encoded = Encode("https://www.example.com/a/much/longer/path?with=a&query=string");

        var ex = Assert.Throws<HpackException>(() => Decode([.. encoded, extra]));

        Assert.Equal(message, ex.Message);
    }

    [Fact]
    public void Decode_LongStringWithPaddingNotOnes_Throws()
    {
        var encoded = Encode("https://www.example.com/index.html"); // ends with 1 bit of padding
        encoded[^1] &= 0xFE;

        var ex = Assert.Throws<HpackException>(() => Decode(encoded));

        Assert.Equal("HPACK: Huffman padding is not the most significant bits of EOS (all ones)", ex.Message);
    }

    [Fact]
    public void Decode_DestinationTooShort_ThrowsArgumentException()
    {
        var encoded = Encode("www.example.com");

        Assert.Throws<ArgumentException>(() => Huffman.Decode(encoded, new byte[14]));
    }

    [Fact]
    public void GetMaxDecodedLength_EnoughForTheShortestCodes()
    {
        var zeros = Encode(new string('0', 80)); // '0' has a 5-bit code: 80 of them in 50 octets

        Assert.Equal(50, zeros.Length);
        Assert.Equal(80, Huffman.GetMaxDecodedLength(zeros.Length));
        Assert.Equal(80, Huffman.Decode(zeros, new byte[80]));
    }

    private static string Decode(byte[] encoded)
    {
        var destination = new byte[Huffman.GetMaxDecodedLength(encoded.Length)];
        return Encoding.Latin1.GetString(destination, 0, Huffman.Decode(encoded, destination));
    }

    private static byte[] Encode(string text)
    {
        var source = Latin1(text);
        var destination = new byte[Huffman.GetEncodedLength(source)];
        Huffman.Encode(source, destination);
        return destination;
    }

    private static byte[] RoundTrip(byte[] source)
    {
        var encoded = new byte[Huffman.GetEncodedLength(source)];
        Assert.Equal(encoded.Length, Huffman.Encode(source, encoded));
        var decoded = new byte[Huffman.GetMaxDecodedLength(encoded.Length)];
        return decoded[..Huffman.Decode(encoded, decoded)];
    }
}
