using Esp.Grpc.Http2.Hpack;
using Xunit;
using static Esp.Tests.Grpc.Http2.Hpack.HpackTesting;

namespace Esp.Tests.Grpc.Http2.Hpack;

public class HpackDecoderTests
{
    [Theory]
    [InlineData("index 0", "80", "index 0 is not a field")]
    [InlineData("index just beyond the static table, empty dynamic table", "be", "index 62 is beyond the dynamic table (0 entries)")]
    [InlineData("literal name index beyond the tables", "7f00 0161", "index 63 is beyond the dynamic table (0 entries)")]
    [InlineData("literal name index 0 is a literal name, which is then truncated", "40", "the block ends before a string")]
    [InlineData("truncated integer (indexed)", "ff", "the block ends inside an integer")]
    [InlineData("truncated integer mid-continuation", "ff80", "the block ends inside an integer")]
    [InlineData("truncated string length", "007f", "the block ends inside an integer")]
    [InlineData("integer overflow: 0x1f and ten 0xff", "1fffffffffffffffffffff", "integer overflows")]
    [InlineData("integer overflow: index above int.MaxValue", "ffffffffff0f", "integer overflows")]
    [InlineData("string length beyond the block (name)", "0005 6162", "string length 5 is beyond the block (2 octets left)")]
    [InlineData("string length beyond the block (value)", "0001 6103 6263", "string length 3 is beyond the block (2 octets left)")]
    [InlineData("huge string length", "0001 617f 80ffffff07", "string length 2147483647 is beyond the block (0 octets left)")]
    [InlineData("value missing", "0001 61", "the block ends before a string")]
    [InlineData("Huffman padding longer than 7 bits", "0001 6182 1fff", "Huffman padding longer than 7 bits")]
    [InlineData("Huffman padding not ones", "0001 6181 18", "Huffman padding is not the most significant bits of EOS (all ones)")]
    [InlineData("Huffman EOS inside the string", "0001 6185 1fff ffff e3", "EOS symbol inside a Huffman string")]
    [InlineData("Huffman EOS in a name", "0084 ffff fffc 00", "EOS symbol inside a Huffman string")]
    [InlineData("size update above the maximum", "3fe21f", "dynamic table size update to 4097 exceeds the maximum 4096")]
    [InlineData("size update after a field", "8220", "dynamic table size update after a header field")]
    [InlineData("size update after a field, table emptied first", "208220", "dynamic table size update after a header field")]
    public void Decode_Malformed_ThrowsHpackException(string @case, string block, string message)
    {
        var ex = Assert.Throws<HpackException>(() => new HpackDecoder().Decode(Hex(block), new HeaderList()));

        Assert.True("HPACK: " + message == ex.Message, $"{@case}: {ex.Message}");
    }

    [Fact]
    public void Decode_EmptyBlock_Valid()
    {
        var decoder = new HpackDecoder();

        Assert.Empty(decoder.Decode([]));
    }

    [Theory]
    [InlineData("20", 0)]
    [InlineData("3fe11f", 4096)] // the maximum itself
    [InlineData("3fe101", 256)]
    [InlineData("20 3fe11f", 4096)] // the smallest size since the last block, then the final one (§4.2)
    [InlineData("3fe101 3f81 01 3fe11f", 4096)]
    public void Decode_BlockOfOnlySizeUpdates_Valid(string block, int maxSize)
    {
        var decoder = new HpackDecoder();

        Assert.Empty(decoder.Decode(Hex(block)));
        Assert.Equal(maxSize, decoder.DynamicTable.MaxSize);
    }

    [Fact]
    public void Decode_SizeUpdateToZero_EvictsEverything()
    {
        var decoder = new HpackDecoder();
        decoder.Decode(HuffmanLiteral("x-a", "1"));
        Assert.Single(decoder.DynamicTable.Entries());

        Assert.Equal([(":method", "GET")], decoder.Decode(Hex("20 3fe11f 82")));

        Assert.Empty(decoder.DynamicTable.Entries());
        Assert.Equal(4096, decoder.DynamicTable.MaxSize);
        Assert.Throws<HpackException>(() => decoder.Decode(Hex("be"), new HeaderList()));
    }

    [Fact]
    public void Decode_SmallerMaximum_SizeUpdateAboveItRejected()
    {
        var decoder = new HpackDecoder(maxDynamicTableSize: 100);

        decoder.Decode(Hex("3f45")); // 100
        var ex = Assert.Throws<HpackException>(() => decoder.Decode(Hex("3f46"), new HeaderList())); // 101

        Assert.Equal(100, decoder.MaxDynamicTableSize);
        Assert.Equal("HPACK: dynamic table size update to 101 exceeds the maximum 100", ex.Message);
    }

    [Fact]
    public void Decode_NeverIndexedAndWithoutIndexingWithDynamicName_NotAdded()
    {
        var decoder = new HpackDecoder();
        decoder.Decode(HuffmanLiteral("x-a", "1"));

        // 0000 1111 + 47 = name 62 (x-a), value "2"; 0001 1111 + 47, value "3"
        Assert.Equal([("x-a", "2"), ("x-a", "3")], decoder.Decode(Hex("0f2f 0132 1f2f 0133")));

        Assert.Equal([("x-a", "1")], decoder.DynamicTable.Entries());
    }

    [Fact]
    public void Decode_LiteralNamedAfterTheEntryItEvicts_KeepsTheName()
    {
        // A table with room for one entry: the new field names the entry its insertion evicts (RFC 7541 §4.4).
        var decoder = new HpackDecoder(maxDynamicTableSize: 60);
        decoder.Decode(HuffmanLiteral("x-long-name", "first"));

        Assert.Equal([("x-long-name", "second")], decoder.Decode(Hex("7e 06 7365636f6e64")));

        Assert.Equal([("x-long-name", "second")], decoder.DynamicTable.Entries());
    }

    [Fact]
    public void Decode_EntryLargerThanTheTable_EmptiesTheTable()
    {
        var decoder = new HpackDecoder(maxDynamicTableSize: 64);
        decoder.Decode(HuffmanLiteral("a", "b"));

        Assert.Equal([("c", new string('d', 40))], decoder.Decode(HuffmanLiteral("c", new string('d', 40))));

        Assert.Empty(decoder.DynamicTable.Entries());
        Assert.Equal(0, decoder.DynamicTable.Size);
    }

    [Fact]
    public void Decode_OverTheHeaderListLimit_ReturnsFalseHandlerSeesFieldsBeforeTheLimitTableStillUpdated()
    {
        // Sizes: 1 + 30 + 32 = 63 each, so the second field takes the list to 126 > 100.
        var decoder = new HpackDecoder(maxHeaderListSize: 100);
        var block = new List<byte>();
        block.AddRange(HuffmanLiteral("a", new string('x', 30)));
        block.AddRange(HuffmanLiteral("b", new string('y', 30)));
        block.AddRange(HuffmanLiteral("c", "z"));
        block.Add(0x82);
        var seen = new HeaderList();

        Assert.False(decoder.Decode(block.ToArray(), seen));

        Assert.Equal([("a", new string('x', 30))], seen.Fields);
        Assert.Equal([("c", "z"), ("b", new string('y', 30)), ("a", new string('x', 30))], decoder.DynamicTable.Entries());
        Assert.Equal([("b", new string('y', 30))], decoder.Decode(Hex("bf"))); // 63: the entries the limit hid are there
        Assert.Equal([("c", "z"), ("a", new string('x', 30))], decoder.Decode(Hex("be c0")));
    }

    [Fact]
    public void Decode_ExactlyAtTheHeaderListLimit_ReturnsTrue()
    {
        var decoder = new HpackDecoder(maxHeaderListSize: 42 + 42); // ":method: GET" is 7 + 3 + 32

        Assert.Equal([(":method", "GET"), (":method", "GET")], decoder.Decode(Hex("8282")));
        Assert.False(decoder.Decode(Hex("828282"), new HeaderList()));
    }

    [Fact]
    public void Decode_ManyInsertionsThroughASmallTable_TableMatchesTheFieldsLastAdded()
    {
        // Enough insertions to move the table's octets around many times.
        var decoder = new HpackDecoder(maxDynamicTableSize: 200);
        for (var i = 0; i < 1000; i++)
        {
            var value = new string((char)('a' + i % 26), i % 50);
            Assert.Equal([("x-n", value)], decoder.Decode(HuffmanLiteral("x-n", value)));
            Assert.Equal(("x-n", value), decoder.DynamicTable.Entries()[0]);
            Assert.InRange(decoder.DynamicTable.Size, 0, 200);
            Assert.Equal(decoder.DynamicTable.Entries().Sum(e => e.Name.Length + e.Value.Length + 32), decoder.DynamicTable.Size);
        }
    }

    [Fact]
    public void Decode_IndexedFieldsFromBothTables_AllocatesNothing()
    {
        var decoder = new HpackDecoder();
        var setup = new List<byte>();
        for (var i = 0; i < 5; i++)
            setup.AddRange(HuffmanLiteral($"x-field-{i}", $"value {i}"));
        decoder.Decode(setup.ToArray());
        var block = Hex("82 86 84 88 bf be c0 c1 c2 8f"); // 5 static, 5 dynamic
        var counter = new CountingHandler();
        for (var i = 0; i < 100; i++)
            decoder.Decode(block, counter);

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
            decoder.Decode(block, counter);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
        Assert.Equal(1100 * 10, counter.Fields);
    }

    [Fact]
    public void Decode_LongNeverIndexedHuffmanValues_EachDecodedRightWhileTheyRepeatAndAlternate()
    {
        // Long Huffman-coded values are remembered per connection: repeats, two that differ only in
        // their last octet, a third pushing one out, and a short one must all come back exactly.
        var decoder = new HpackDecoder();
        var tokenA = "Bearer " + new string('a', 300) + "x";
        var tokenB = "Bearer " + new string('a', 300) + "y";
        var tokenC = "Bearer " + string.Concat(Enumerable.Range(0, 60).Select(i => $"c{i}."));
        string[] sequence = [tokenA, tokenA, tokenB, tokenA, tokenC, tokenB, tokenA, "Bearer short", tokenC, tokenC];
        foreach (var token in sequence)
        {
            var block = NeverIndexed(HuffmanLiteral("authorization", token));
            Assert.Equal([("authorization", token)], decoder.Decode(block));
        }
        Assert.Equal(0, decoder.DynamicTable.Count);
    }

    [Fact]
    public void Decode_RepeatedLongHuffmanValue_AllocatesNothing()
    {
        var decoder = new HpackDecoder();
        var block = NeverIndexed(HuffmanLiteral("authorization", "Bearer " + new string('t', 700)));
        var counter = new CountingHandler();
        for (var i = 0; i < 10; i++)
            decoder.Decode(block, counter);

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
            decoder.Decode(block, counter);

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    /// <summary>A literal with incremental indexing (0x40) made never indexed (0x10), the same name and value.</summary>
    private static byte[] NeverIndexed(byte[] literal)
    {
        Assert.Equal(0x40, literal[0]);
        literal[0] = 0x10;
        return literal;
    }

    private sealed class CountingHandler : IHpackHeaderHandler
    {
        public int Fields { get; private set; }

        public void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value) => Fields++;
    }
}
