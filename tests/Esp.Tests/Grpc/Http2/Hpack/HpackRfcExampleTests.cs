using Esp.Grpc.Http2.Hpack;
using Xunit;
using static Esp.Tests.Grpc.Http2.Hpack.HpackTesting;

namespace Esp.Tests.Grpc.Http2.Hpack;

/// <summary>The examples of RFC 7541 Appendix C.2 to C.6, decoded, and those without Huffman coding also encoded.</summary>
public class HpackRfcExampleTests
{
    private static readonly (string, string)[] Request1 =
        [(":method", "GET"), (":scheme", "http"), (":path", "/"), (":authority", "www.example.com")];

    private static readonly (string, string)[] Request2 =
        [(":method", "GET"), (":scheme", "http"), (":path", "/"), (":authority", "www.example.com"), ("cache-control", "no-cache")];

    private static readonly (string, string)[] Request3 =
        [(":method", "GET"), (":scheme", "https"), (":path", "/index.html"), (":authority", "www.example.com"), ("custom-key", "custom-value")];

    private static readonly (string, string)[] Response1 =
        [(":status", "302"), ("cache-control", "private"), ("date", "Mon, 21 Oct 2013 20:13:21 GMT"), ("location", "https://www.example.com")];

    private static readonly (string, string)[] Response2 =
        [(":status", "307"), ("cache-control", "private"), ("date", "Mon, 21 Oct 2013 20:13:21 GMT"), ("location", "https://www.example.com")];

    private static readonly (string, string)[] Response3 =
    [
        (":status", "200"), ("cache-control", "private"), ("date", "Mon, 21 Oct 2013 20:13:22 GMT"), ("location", "https://www.example.com"),
        ("content-encoding", "gzip"), ("set-cookie", "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"),
    ];

    // C.3 and C.4: the same requests, without and with Huffman coding.
    private const string C31 = "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d";
    private const string C32 = "8286 84be 5808 6e6f 2d63 6163 6865";
    private const string C33 = "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65";
    private const string C41 = "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff";
    private const string C42 = "8286 84be 5886 a8eb 1064 9cbf";
    private const string C43 = "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf";

    // C.5 and C.6: the same responses, with a 256-octet table, without and with Huffman coding.
    private const string C51 = """
        4803 3330 3258 0770 7269 7661 7465 611d
        4d6f 6e2c 2032 3120 4f63 7420 3230 3133
        2032 303a 3133 3a32 3120 474d 546e 1768
        7474 7073 3a2f 2f77 7777 2e65 7861 6d70
        6c65 2e63 6f6d
        """;
    private const string C52 = "4803 3330 37c1 c0bf";
    private const string C53 = """
        88c1 611d 4d6f 6e2c 2032 3120 4f63 7420
        3230 3133 2032 303a 3133 3a32 3220 474d
        54c0 5a04 677a 6970 7738 666f 6f3d 4153
        444a 4b48 514b 425a 584f 5157 454f 5049
        5541 5851 5745 4f49 553b 206d 6178 2d61
        6765 3d33 3630 303b 2076 6572 7369 6f6e
        3d31
        """;
    private const string C61 = """
        4882 6402 5885 aec3 771a 4b61 96d0 7abe
        9410 54d4 44a8 2005 9504 0b81 66e0 82a6
        2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8
        e9ae 82ae 43d3
        """;
    private const string C62 = "4883 640e ffc1 c0bf";
    private const string C63 = """
        88c1 6196 d07a be94 1054 d444 a820 0595
        040b 8166 e084 a62d 1bff c05a 839b d9ab
        77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b
        3960 d5af 2708 7f36 72c1 ab27 0fb5 291f
        9587 3160 65c0 03ed 4ee5 b106 3d50 07
        """;

    [Fact]
    public void Decode_C21_LiteralWithIndexing_AddedToTheTable()
    {
        var decoder = new HpackDecoder();

        Assert.Equal([("custom-key", "custom-header")], decoder.Decode(Hex("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572")));
        Assert.Equal([("custom-key", "custom-header")], decoder.DynamicTable.Entries());
        Assert.Equal(55, decoder.DynamicTable.Size);
    }

    [Theory]
    [InlineData("040c 2f73 616d 706c 652f 7061 7468", ":path", "/sample/path")] // C.2.2: literal without indexing
    [InlineData("1008 7061 7373 776f 7264 0673 6563 7265 74", "password", "secret")] // C.2.3: never indexed
    [InlineData("82", ":method", "GET")] // C.2.4: indexed
    public void Decode_C22ToC24_FieldNotAddedToTheTable(string block, string name, string value)
    {
        var decoder = new HpackDecoder();

        Assert.Equal([(name, value)], decoder.Decode(Hex(block)));
        Assert.Empty(decoder.DynamicTable.Entries());
        Assert.Equal(0, decoder.DynamicTable.Size);
    }

    [Theory]
    [InlineData(C31, C32, C33)] // C.3: requests without Huffman coding
    [InlineData(C41, C42, C43)] // C.4: with Huffman coding
    public void Decode_C3AndC4_RequestsOnOneConnection(string first, string second, string third)
    {
        var decoder = new HpackDecoder();

        Assert.Equal(Request1, decoder.Decode(Hex(first)));
        Assert.Equal([(":authority", "www.example.com")], decoder.DynamicTable.Entries());
        Assert.Equal(57, decoder.DynamicTable.Size);

        Assert.Equal(Request2, decoder.Decode(Hex(second)));
        Assert.Equal([("cache-control", "no-cache"), (":authority", "www.example.com")], decoder.DynamicTable.Entries());
        Assert.Equal(110, decoder.DynamicTable.Size);

        Assert.Equal(Request3, decoder.Decode(Hex(third)));
        Assert.Equal([("custom-key", "custom-value"), ("cache-control", "no-cache"), (":authority", "www.example.com")], decoder.DynamicTable.Entries());
        Assert.Equal(164, decoder.DynamicTable.Size);
    }

    [Theory]
    [InlineData(C51, C52, C53)] // C.5: responses without Huffman coding
    [InlineData(C61, C62, C63)] // C.6: with Huffman coding
    public void Decode_C5AndC6_ResponsesEvictingFromA256OctetTable(string first, string second, string third)
    {
        var decoder = new HpackDecoder(maxDynamicTableSize: 256);

        Assert.Equal(Response1, decoder.Decode(Hex(first)));
        Assert.Equal(
            [("location", "https://www.example.com"), ("date", "Mon, 21 Oct 2013 20:13:21 GMT"), ("cache-control", "private"), (":status", "302")],
            decoder.DynamicTable.Entries());
        Assert.Equal(222, decoder.DynamicTable.Size);

        Assert.Equal(Response2, decoder.Decode(Hex(second)));
        Assert.Equal(
            [(":status", "307"), ("location", "https://www.example.com"), ("date", "Mon, 21 Oct 2013 20:13:21 GMT"), ("cache-control", "private")],
            decoder.DynamicTable.Entries());
        Assert.Equal(222, decoder.DynamicTable.Size);

        Assert.Equal(Response3, decoder.Decode(Hex(third)));
        Assert.Equal(
            [("set-cookie", "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1"), ("content-encoding", "gzip"), ("date", "Mon, 21 Oct 2013 20:13:22 GMT")],
            decoder.DynamicTable.Entries());
        Assert.Equal(215, decoder.DynamicTable.Size);
    }

    [Fact]
    public void Decode_IndexBeyondTheC3Table_NamesTheIndexAndTheEntries()
    {
        var decoder = new HpackDecoder();
        decoder.Decode(Hex(C31));
        decoder.Decode(Hex(C32));
        decoder.Decode(Hex(C33));

        var ex = Assert.Throws<HpackException>(() => decoder.Decode(Hex("c6"), new HeaderList()));

        Assert.Equal("HPACK: index 70 is beyond the dynamic table (3 entries)", ex.Message);
    }

    [Fact]
    public void Encode_C3Requests_GivesTheRfcOctetsAndTheSameTable()
    {
        var encoder = new HpackEncoder();
        var decoder = new HpackDecoder();

        foreach (var (fields, expected) in new[] { (Request1, C31), (Request2, C32), (Request3, C33) })
        {
            var block = encoder.EncodeBlock(HpackIndexing.Index, fields);

            Assert.Equal(Convert.ToHexStringLower(Hex(expected)), Convert.ToHexStringLower(block));
            Assert.Equal(fields, decoder.Decode(block));
            Assert.Equal(decoder.DynamicTable.Entries(), encoder.DynamicTable.Entries());
            Assert.Equal(decoder.DynamicTable.Size, encoder.DynamicTable.Size);
        }
        Assert.Equal(164, encoder.DynamicTable.Size);
    }

    [Fact]
    public void Encode_C5ResponsesWithA256OctetTable_GivesTheRfcOctetsAfterATableSizeUpdate()
    {
        var encoder = new HpackEncoder(maxDynamicTableSize: 256);
        var decoder = new HpackDecoder();

        foreach (var (fields, expected) in new[] { (Response1, "3fe101" + C51), (Response2, C52), (Response3, C53) })
        {
            var block = encoder.EncodeBlock(HpackIndexing.Index, fields);

            // Our peer's decoder starts at 4096 octets, so the first block tells it of the 256 we use.
            Assert.Equal(Convert.ToHexStringLower(Hex(expected)), Convert.ToHexStringLower(block));
            Assert.Equal(fields, decoder.Decode(block));
            Assert.Equal(decoder.DynamicTable.Entries(), encoder.DynamicTable.Entries());
            Assert.Equal(decoder.DynamicTable.Size, encoder.DynamicTable.Size);
        }
        Assert.Equal(215, encoder.DynamicTable.Size);
        Assert.Equal(256, decoder.DynamicTable.MaxSize);
    }
}
