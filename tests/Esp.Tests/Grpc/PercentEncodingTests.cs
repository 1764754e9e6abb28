using Esp.Grpc.Protocol;
using Xunit;

namespace Esp.Tests.Grpc;

public class PercentEncodingTests
{
    [Theory]
    [InlineData("%", "%25")]
    [InlineData("\n", "%0A")]
    [InlineData("\r\n", "%0D%0A")]
    [InlineData("\t", "%09")]
    [InlineData("\0", "%00")]
    [InlineData("\x7F", "%7F")]
    [InlineData("é", "%C3%A9")]
    [InlineData("100% done", "100%25 done")]
    [InlineData("☕", "%E2%98%95")]
    [InlineData("😀", "%F0%9F%98%80")]
    [InlineData("a\u00A0b", "a%C2%A0b")]
    public void Encode_CharacterOutsidePrintableAsciiOrPercent_EscapedAsUtf8Bytes(string value, string expected)
    {
        Assert.Equal(expected, PercentEncoding.Encode(value));
    }

    [Fact]
    public void Encode_PrintableAsciiExceptPercent_Untouched()
    {
        var printable = new string(Enumerable.Range(0x20, 0x7E - 0x20 + 1).Select(c => (char)c).Where(c => c != '%').ToArray());

        Assert.Equal(printable, PercentEncoding.Encode(printable));
        Assert.Equal(printable, PercentEncoding.Decode(printable));
    }

    [Fact]
    public void Encode_EveryCharacterOutsidePrintableAscii_EncodedFormIsPrintableAscii()
    {
        for (var c = 0; c < 0x100; c++)
        {
            var encoded = PercentEncoding.Encode(((char)c).ToString());

            Assert.All(encoded, e => Assert.InRange(e, '\x20', '\x7E'));
            Assert.Equal(((char)c).ToString(), PercentEncoding.Decode(encoded));
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("plain ASCII: nothing to do")]
    [InlineData("Ünïcödé wörds, Grüße")]
    [InlineData("日本語のエラー")]
    [InlineData("emoji 😀👍🏽 and flags 🇫🇷")]
    [InlineData("𝄞 music (a surrogate pair) 𝄞")]
    [InlineData("control \0\x01\x1F\x7F\t\r\n chars")]
    [InlineData("%%%25%41%")]
    [InlineData("mixed: 100% ☕\n😀 %zz é")]
    public void Decode_EncodedValue_RoundTrips(string value)
    {
        Assert.Equal(value, PercentEncoding.Decode(PercentEncoding.Encode(value)));
    }

    [Theory]
    [InlineData("%", "%")]
    [InlineData("%4", "%4")]
    [InlineData("%G1", "%G1")]
    [InlineData("%1G", "%1G")]
    [InlineData("%%", "%%")]
    [InlineData("abc%", "abc%")]
    [InlineData("abc%4", "abc%4")]
    [InlineData("%zz%41", "%zzA")]
    [InlineData("% 41", "% 41")]
    [InlineData("%41", "A")]
    [InlineData("x%41", "xA")]
    [InlineData("%c3%a9", "é")]
    [InlineData("%C3%a9", "é")]
    [InlineData("%25", "%")]
    [InlineData("%2525", "%25")]
    public void Decode_MalformedOrUnusualEscapes_KeptOrDecodedWithoutThrowing(string value, string expected)
    {
        Assert.Equal(expected, PercentEncoding.Decode(value));
    }

    [Theory]
    [InlineData("%FF")]
    [InlineData("%C3")]
    [InlineData("%F0%9F%98")]
    public void Decode_EscapesThatAreNotUtf8_ReplacementCharacterWithoutThrowing(string value)
    {
        Assert.Contains('\uFFFD', PercentEncoding.Decode(value));
    }

    [Theory]
    [InlineData("é%41", "éA")]
    [InlineData("😀%20x", "😀 x")]
    public void Decode_RawNonAsciiAlongsideEscapes_KeptAsIsOrReplacedWithoutThrowing(string value, string expected)
    {
        Assert.Equal(expected, PercentEncoding.Decode(value));
    }

    [Fact]
    public void Decode_LoneSurrogates_ReplacementCharacterWithoutThrowing()
    {
        // Built here, not in [InlineData]: test-case serialization cannot carry a lone surrogate.
        var loneHigh = "\uD800";
        var loneLow = "\uDC00";

        Assert.Equal("\uFFFD%", PercentEncoding.Decode(loneHigh + "%"));
        Assert.Equal("\uFFFDA", PercentEncoding.Decode(loneHigh + "%41"));
        Assert.Equal("\uFFFDAA", PercentEncoding.Decode(loneHigh + "A%41"));
        Assert.Equal("A\uFFFD", PercentEncoding.Decode("%41" + loneLow));
        Assert.Equal("%EF%BF%BD", PercentEncoding.Encode(loneHigh));
    }

    [Fact]
    public void Encode_NothingToEscape_ReturnsSameInstance()
    {
        var value = "no escapes here";

        Assert.Same(value, PercentEncoding.Encode(value));
    }
}
