using Esp.Grpc;
using Esp.Grpc.Protocol;
using Xunit;

namespace Esp.Tests.Grpc;

public class MetadataTests
{
    [Theory]
    [InlineData("AQIDBA==")]
    [InlineData("AQIDBA=")]
    [InlineData("AQIDBA")]
    [InlineData(" AQIDBA ")]
    public void TryDecode_PaddedOrUnpadded_Decodes(string value)
    {
        Assert.True(BinaryHeaderValue.TryDecode(value, out var bytes));
        Assert.Equal([1, 2, 3, 4], bytes);
    }

    [Theory]
    [InlineData("", new byte[0])]
    [InlineData("AA", new byte[] { 0 })]
    [InlineData("AAE", new byte[] { 0, 1 })]
    [InlineData("AAEC", new byte[] { 0, 1, 2 })]
    [InlineData("/w", new byte[] { 0xFF })]
    public void TryDecode_EveryLength_Decodes(string value, byte[] expected)
    {
        Assert.True(BinaryHeaderValue.TryDecode(value, out var bytes));
        Assert.Equal(expected, bytes);
    }

    [Theory]
    [InlineData("A")]
    [InlineData("AQIDB")]
    [InlineData("AQIDBA===")]
    [InlineData("!!!!")]
    [InlineData("AQ*D")]
    [InlineData("AQ-_")]
    [InlineData("AQ==AQ==")]
    [InlineData("=AQI")]
    public void TryDecode_NotBase64_Rejected(string value)
    {
        Assert.False(BinaryHeaderValue.TryDecode(value, out var bytes));
        Assert.Empty(bytes);
    }

    [Theory]
    [InlineData(new byte[0], "")]
    [InlineData(new byte[] { 0 }, "AA")]
    [InlineData(new byte[] { 0, 1 }, "AAE")]
    [InlineData(new byte[] { 1, 2, 3 }, "AQID")]
    [InlineData(new byte[] { 1, 2, 3, 4 }, "AQIDBA")]
    [InlineData(new byte[] { 0xFB, 0xFF }, "+/8")]
    public void Encode_Bytes_UnpaddedStandardBase64(byte[] value, string expected)
    {
        Assert.Equal(expected, BinaryHeaderValue.Encode(value));
    }

    [Theory]
    [InlineData("x-foo")]
    [InlineData("a")]
    [InlineData("0")]
    [InlineData("a-b_c.d")]
    [InlineData("x-trace-id-2")]
    public void IsValidKey_AllowedCharacters_True(string key)
    {
        Assert.True(MetadataValidation.IsValidKey(key));
    }

    [Theory]
    [InlineData("")]
    [InlineData("X-Foo")]
    [InlineData("a b")]
    [InlineData("a:b")]
    [InlineData(":path")]
    [InlineData("a/b")]
    [InlineData("ü")]
    [InlineData("a\tb")]
    public void IsValidKey_OtherCharacters_False(string key)
    {
        Assert.False(MetadataValidation.IsValidKey(key));
    }

    [Fact]
    public void Add_UpperCaseKey_StoredLowerCase()
    {
        var metadata = new Metadata().Add("X-Request-ID", "abc");

        Assert.Equal("x-request-id", Assert.Single(metadata).Key);
        Assert.Equal("abc", metadata.GetValue("x-request-id"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("a b")]
    [InlineData("a:b")]
    [InlineData("ü")]
    [InlineData("a/b")]
    public void Add_InvalidKey_ArgumentException(string key)
    {
        Assert.ThrowsAny<ArgumentException>(() => new Metadata().Add(key, "value"));
    }

    [Fact]
    public void Add_BinaryKeyWithText_ArgumentException()
    {
        var ex = Assert.Throws<ArgumentException>(() => new Metadata().Add("x-data-bin", "AQID"));

        Assert.Contains("takes a byte[] value", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Add_TextKeyWithBytes_ArgumentException()
    {
        var ex = Assert.Throws<ArgumentException>(() => new Metadata().Add("x-data", [1, 2, 3]));

        Assert.Contains("binary keys end in '-bin'", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("é")]
    [InlineData("line\nbreak")]
    [InlineData("tab\there")]
    [InlineData("\x7F")]
    [InlineData("😀")]
    public void Add_TextValueOutsidePrintableAscii_ArgumentException(string value)
    {
        Assert.Throws<ArgumentException>(() => new Metadata().Add("x-text", value));
    }

    [Fact]
    public void Add_BinaryKeyWithBytes_ValueIsUnpaddedBase64()
    {
        var metadata = new Metadata().Add("X-Data-BIN", [1, 2, 3, 4]);

        var entry = Assert.Single(metadata);
        Assert.Equal("x-data-bin", entry.Key);
        Assert.True(entry.IsBinary);
        Assert.Equal("AQIDBA", entry.Value);
        Assert.Equal([1, 2, 3, 4], entry.ValueBytes);
    }

    [Fact]
    public void Get_SeveralEntriesWithKey_LastOneAndAllInOrder()
    {
        var metadata = new Metadata().Add("x-a", "1").Add("x-b", "2").Add("x-a", "3");

        Assert.Equal("3", metadata.GetValue("X-A"));
        Assert.Equal(["1", "3"], metadata.GetAll("x-a").Select(e => e.Value));
        Assert.Null(metadata.Get("x-c"));
    }

    [Fact]
    public void TryAdd_JoinedBinaryHeader_SplitOnCommaBeforeDecoding()
    {
        var metadata = new Metadata();

        Assert.True(MetadataHeaders.TryAdd(metadata, "x-data-bin", ["AQI=,AwQ", "BQ"]));

        Assert.Equal([[1, 2], [3, 4], [5]], metadata.Select(e => e.ValueBytes));
    }

    [Fact]
    public void TryAdd_InvalidBinaryValue_False()
    {
        Assert.False(MetadataHeaders.TryAdd(new Metadata(), "x-data-bin", ["AQI,!!!!"]));
    }

    [Theory]
    [InlineData("grpc-timeout")]
    [InlineData("grpc-encoding")]
    [InlineData("grpc-accept-encoding")]
    [InlineData("grpc-status")]
    [InlineData("grpc-message")]
    [InlineData("content-type")]
    [InlineData("te")]
    [InlineData(":path")]
    [InlineData("Content-Length")]
    [InlineData("Host")]
    public void TryAdd_ProtocolHeader_Skipped(string name)
    {
        var metadata = new Metadata();

        Assert.True(MetadataHeaders.TryAdd(metadata, name, ["5S"]));

        Assert.Empty(metadata);
    }

    [Fact]
    public void TryAdd_TextValueOutsidePrintableAscii_Dropped()
    {
        var metadata = new Metadata();

        Assert.True(MetadataHeaders.TryAdd(metadata, "x-text", ["caf\u00E9", "ok"]));

        Assert.Equal("ok", Assert.Single(metadata).Value);
    }

    [Fact]
    public void Sendable_ProtocolHeadersInMetadata_Filtered()
    {
        var metadata = new Metadata().Add("grpc-status", "0").Add("x-keep", "1").Add("te", "nope");

        Assert.Equal(["x-keep"], MetadataHeaders.Sendable(metadata).Select(e => e.Key));
    }
}
