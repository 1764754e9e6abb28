using System.Buffers;
using Esp.Grpc.Http2.Hpack;
using Xunit;
using static Esp.Tests.Grpc.Http2.Hpack.HpackTesting;

namespace Esp.Tests.Grpc.Http2.Hpack;

public class HpackEncoderTests
{
    [Theory]
    [InlineData(nameof(HpackIndexing.Index), "83")]
    [InlineData(nameof(HpackIndexing.WithoutIndexing), "83")]
    [InlineData(nameof(HpackIndexing.NeverIndex), "1204504f5354")] // never indexed, name 2 (:method)
    public void Encode_PairInTheStaticTable_IndexedUnlessNeverIndex(string indexing, string expected)
    {
        var encoder = new HpackEncoder();

        Assert.Equal(expected, Convert.ToHexStringLower(encoder.EncodeBlock(Enum.Parse<HpackIndexing>(indexing), (":method", "POST"))));
        Assert.Empty(encoder.DynamicTable.Entries());
    }

    [Fact]
    public void Encode_Index_NewPairLiteralWithIncrementalIndexingThenIndexed()
    {
        var encoder = new HpackEncoder();

        // content-type is static 31: 01 011111, then the raw value.
        Assert.Equal("5f10" + Convert.ToHexStringLower(Latin1("application/grpc")),
            Convert.ToHexStringLower(encoder.EncodeBlock(HpackIndexing.Index, ("content-type", "application/grpc"))));
        Assert.Equal("be", Convert.ToHexStringLower(encoder.EncodeBlock(HpackIndexing.Index, ("content-type", "application/grpc"))));
        Assert.Equal("40" + "03782d61" + "0131", Convert.ToHexStringLower(encoder.EncodeBlock(HpackIndexing.Index, ("x-a", "1"))));
        Assert.Equal("bfbe", Convert.ToHexStringLower(encoder.EncodeBlock(HpackIndexing.Index, ("content-type", "application/grpc"), ("x-a", "1"))));
        Assert.Equal([("x-a", "1"), ("content-type", "application/grpc")], encoder.DynamicTable.Entries());
    }

    [Fact]
    public void Encode_SameStringInstancesAgain_IndexedOnlyWhileTheirEntryIsInTheTable()
    {
        var encoder = new HpackEncoder();
        var decoder = new HpackDecoder();
        var userInfo = new string('u', 800);
        string Hex(params (string, string)[] fields) => Convert.ToHexStringLower(RoundTrip(encoder, decoder, fields));

        Assert.StartsWith("40", Hex(("x-user", userInfo)));
        Assert.Equal("be", Hex(("x-user", userInfo)));
        Assert.Equal("be", Hex(("x-user", new string('u', 800)))); // equal octets, another instance
        // Four fields of ~1 KB evict it: the same instances are a literal again, added anew.
        for (var i = 0; i < 4; i++)
            Hex(("x-filler", new string((char)('a' + i), 1000)));
        Assert.DoesNotContain(("x-user", userInfo), encoder.DynamicTable.Entries());
        Assert.StartsWith("40", Hex(("x-user", userInfo)));
        Assert.Equal("be", Hex(("x-user", userInfo)));
        // A table emptied by the peer's SETTINGS and grown back: nothing indexed from before.
        encoder.SetPeerMaxTableSize(0);
        Assert.StartsWith("20", Hex());
        encoder.SetPeerMaxTableSize(4096);
        Assert.StartsWith("3fe11f40", Hex(("x-user", userInfo))); // size update to 4096, then a literal
        Assert.Equal([("x-user", userInfo)], encoder.DynamicTable.Entries());
    }

    [Fact]
    public void Encode_StaticPairSameInstancesAgain_TheStaticIndexWhateverTheDynamicTableHolds()
    {
        var encoder = new HpackEncoder();
        var decoder = new HpackDecoder();
        string Hex(params (string, string)[] fields) => Convert.ToHexStringLower(RoundTrip(encoder, decoder, fields));
        const string method = ":method", post = "POST", status = ":status", ok = "200";

        Assert.Equal("8388", Hex((method, post), (status, ok)));
        for (var i = 0; i < 40; i++)
        {
            // Dynamic entries come and go (evicting every earlier one); the static ones stay where they are.
            Assert.StartsWith("8388", Hex((method, post), (status, ok), ("x-filler", new string((char)('a' + i % 26), 1000 + i))));
        }
        encoder.SetPeerMaxTableSize(0);
        Assert.Equal("208388", Hex((method, post), (status, ok)));
        Assert.Empty(encoder.DynamicTable.Entries());
    }

    [Fact]
    public void Encode_SameLongUnindexedLiteralAgain_SameOctetsWhateverTheTablesHold()
    {
        var encoder = new HpackEncoder();
        var decoder = new HpackDecoder();
        var token = "Bearer " + new string('t', 700);
        byte[] Block(HpackIndexing indexing, params (string, string)[] fields)
        {
            var block = encoder.EncodeBlock(indexing, fields);
            Assert.Equal(fields, decoder.Decode(block));
            Assert.Equal(decoder.DynamicTable.Entries(), encoder.DynamicTable.Entries());
            return block;
        }

        var first = Block(HpackIndexing.NeverIndex, ("authorization", token));
        Assert.Equal("1f08", Convert.ToHexStringLower(first[..2])); // never indexed, name 23 (static): 15 + 8
        Block(HpackIndexing.Index, ("x-filler", new string('f', 1000)));
        Assert.Equal(first, Block(HpackIndexing.NeverIndex, ("authorization", token)));
        Assert.Equal(first, Block(HpackIndexing.NeverIndex, ("authorization", new string(token)))); // another instance
        Assert.NotEqual(first[0], Block(HpackIndexing.WithoutIndexing, ("authorization", token))[0]);

        // A name only the dynamic table holds is indexed from it while it lives, a literal after.
        var value = new string('v', 100);
        Block(HpackIndexing.Index, ("x-custom", "1"));
        Assert.Equal("1f2f", Convert.ToHexStringLower(Block(HpackIndexing.NeverIndex, ("x-custom", value))[..2])); // name 62: 15 + 47
        for (var i = 0; i < 4; i++)
            Block(HpackIndexing.Index, ($"x-filler-{i}", new string('f', 1000)));
        Assert.Equal(0x10, Block(HpackIndexing.NeverIndex, ("x-custom", value))[0]);
    }

    private static byte[] RoundTrip(HpackEncoder encoder, HpackDecoder decoder, params (string Name, string Value)[] fields)
    {
        var block = encoder.EncodeBlock(HpackIndexing.Index, fields);
        Assert.Equal(fields, decoder.Decode(block));
        Assert.Equal(decoder.DynamicTable.Entries(), encoder.DynamicTable.Entries());
        return block;
    }

    [Fact]
    public void Encode_NameOnlyInTheDynamicTable_LiteralsIndexItsName()
    {
        var encoder = new HpackEncoder();
        encoder.EncodeBlock(HpackIndexing.Index, ("x-a", "1"));

        Assert.Equal("7e0132", Convert.ToHexStringLower(encoder.EncodeBlock(HpackIndexing.Index, ("x-a", "2"))));
        Assert.Equal("0f2f0133", Convert.ToHexStringLower(encoder.EncodeBlock(HpackIndexing.WithoutIndexing, ("x-a", "3")))); // 15 + 47: the newest x-a
        Assert.Equal("1f2f0134", Convert.ToHexStringLower(encoder.EncodeBlock(HpackIndexing.NeverIndex, ("x-a", "4"))));
        Assert.Equal([("x-a", "2"), ("x-a", "1")], encoder.DynamicTable.Entries());
    }

    [Fact]
    public void Encode_WithoutIndexing_PairInTheDynamicTableStillALiteral()
    {
        var encoder = new HpackEncoder();
        encoder.EncodeBlock(HpackIndexing.Index, ("x-a", "1"));

        Assert.Equal("0f2f0131", Convert.ToHexStringLower(encoder.EncodeBlock(HpackIndexing.WithoutIndexing, ("x-a", "1"))));
    }

    [Theory]
    [InlineData(nameof(HpackIndexing.WithoutIndexing), "00")]
    [InlineData(nameof(HpackIndexing.NeverIndex), "10")]
    public void Encode_UnknownName_LiteralNameNotAdded(string indexing, string flags)
    {
        var encoder = new HpackEncoder();

        Assert.Equal(flags + "03782d62" + "0132", Convert.ToHexStringLower(encoder.EncodeBlock(Enum.Parse<HpackIndexing>(indexing), ("x-b", "2"))));
        Assert.Empty(encoder.DynamicTable.Entries());
    }

    [Fact]
    public void Encode_NeverIndexStaticName_IndexesTheName()
    {
        var encoder = new HpackEncoder();

        // authorization is static 23: 0001 1111 + 8.
        Assert.Equal("1f08" + "03" + "616263", Convert.ToHexStringLower(encoder.EncodeBlock(HpackIndexing.NeverIndex, ("authorization", "abc"))));
    }

    [Fact]
    public void Encode_IndexFieldLargerThanTheTable_LiteralWithoutIndexingTableKept()
    {
        var encoder = new HpackEncoder(maxDynamicTableSize: 100);
        encoder.EncodeBlock(HpackIndexing.Index, ("x-a", "1"));
        var big = new string('v', 66); // 1 + 66 + 32 = 99 fits; 3 + 66 + 32 = 101 does not

        var block = encoder.EncodeBlock(HpackIndexing.Index, ("x-b", big));

        Assert.Equal(0x00, block[0]);
        Assert.Equal([("x-a", "1")], encoder.DynamicTable.Entries());
        Assert.Equal(0x40, encoder.EncodeBlock(HpackIndexing.Index, ("y", big))[0]);
        Assert.Equal([("y", big)], encoder.DynamicTable.Entries());
    }

    [Fact]
    public void Encode_Latin1_WrittenAsOctets()
    {
        var encoder = new HpackEncoder();

        Assert.Equal("0003782d65" + "02e9ff", Convert.ToHexStringLower(encoder.EncodeBlock(HpackIndexing.WithoutIndexing, ("x-e", "\u00e9\u00ff"))));
    }

    [Theory]
    [InlineData("X-Upper", "v")]
    [InlineData("x-\u0100", "v")]
    [InlineData("x-a", "caf\u00e9 \u2615")]
    public void Encode_UpperCaseNameOrCharacterAboveFF_ThrowsArgumentException(string name, string value)
    {
        var encoder = new HpackEncoder();

        Assert.Throws<ArgumentException>(() => encoder.Encode(new ArrayBufferWriter<byte>(), name, value, HpackIndexing.Index));
        Assert.Throws<ArgumentException>(() => encoder.Encode(new ArrayBufferWriter<byte>(), name, value, HpackIndexing.NeverIndex));
        Assert.Empty(encoder.DynamicTable.Entries());
    }

    [Fact]
    public void Encode_ValueWithACharacterAboveFF_MessageDoesNotShowTheValue()
    {
        var ex = Assert.Throws<ArgumentException>(() =>
            new HpackEncoder().Encode(new ArrayBufferWriter<byte>(), "authorization", "Bearer secret\u2615", HpackIndexing.NeverIndex));

        Assert.DoesNotContain("secret", ex.Message);
        Assert.Contains("authorization", ex.Message);
    }

    [Fact]
    public void Encode_ByteOverload_SameOctetsAsTheStringOne()
    {
        var byStrings = new HpackEncoder();
        var byOctets = new HpackEncoder();
        var fields = new[] { ("content-type", "application/grpc"), ("x-a", "1"), (":path", "/a.B/C"), ("x-a", "1"), ("content-type", "application/grpc") };

        foreach (var indexing in new[] { HpackIndexing.Index, HpackIndexing.WithoutIndexing, HpackIndexing.NeverIndex, HpackIndexing.Index })
        {
            var fromOctets = new ArrayBufferWriter<byte>();
            byOctets.BeginBlock(fromOctets);
            foreach (var (name, value) in fields)
                byOctets.Encode(fromOctets, Latin1(name), Latin1(value), indexing);

            Assert.Equal(byStrings.EncodeBlock(indexing, fields), fromOctets.WrittenSpan.ToArray());
        }
    }

    [Fact]
    public void BeginBlock_NoChange_WritesNothing()
    {
        var encoder = new HpackEncoder();
        encoder.SetPeerMaxTableSize(4096);
        encoder.SetPeerMaxTableSize(65536); // above our own maximum: we keep 4096

        Assert.Empty(encoder.EncodeBlock(HpackIndexing.Index));
    }

    [Theory]
    [InlineData(4096, new[] { 1024 }, "3fe107", 1024)]
    [InlineData(4096, new[] { 0 }, "20", 0)]
    [InlineData(4096, new[] { 0, 4096 }, "20 3fe11f", 4096)] // shrank and grew back: the minimum, then the final size
    [InlineData(4096, new[] { 1024, 2048, 3000 }, "3fe107 3f9917", 3000)]
    [InlineData(4096, new[] { 2048, 1024 }, "3fe107", 1024)] // only shrinking: the final size
    [InlineData(8192, new[] { 8192 }, "3fe13f", 8192)] // we allow more than the peer's initial 4096
    [InlineData(8192, new[] { 65536 }, "3fe13f", 8192)]
    [InlineData(256, new int[0], "3fe101", 256)] // our table is smaller than the peer's initial 4096
    [InlineData(256, new[] { 100, 4096 }, "3f45 3fe101", 256)]
    public void BeginBlock_PeerTableSizeChanged_WritesTheUpdates(int ours, int[] peerSizes, string expected, int finalSize)
    {
        var encoder = new HpackEncoder(ours);
        foreach (var size in peerSizes)
            encoder.SetPeerMaxTableSize(size);

        Assert.Equal(Convert.ToHexStringLower(Hex(expected)), Convert.ToHexStringLower(encoder.EncodeBlock(HpackIndexing.Index)));
        Assert.Equal(finalSize, encoder.DynamicTable.MaxSize);
        Assert.Empty(encoder.EncodeBlock(HpackIndexing.Index)); // signalled once
    }

    [Fact]
    public void SetPeerMaxTableSize_ShrinkAndGrowBack_FlushesTheTableLikeTheDecoder()
    {
        var encoder = new HpackEncoder();
        var decoder = new HpackDecoder();
        decoder.Decode(encoder.EncodeBlock(HpackIndexing.Index, ("x-a", "1"), ("x-b", "2")));

        encoder.SetPeerMaxTableSize(0);
        encoder.SetPeerMaxTableSize(4096);
        var block = encoder.EncodeBlock(HpackIndexing.Index, ("x-a", "1"));

        Assert.Equal("20" + "3fe11f" + "40" + "03782d61" + "0131", Convert.ToHexStringLower(block));
        Assert.Equal([("x-a", "1")], decoder.Decode(block));
        Assert.Equal([("x-a", "1")], encoder.DynamicTable.Entries());
        Assert.Equal(decoder.DynamicTable.Entries(), encoder.DynamicTable.Entries());
    }

    [Fact]
    public void SetPeerMaxTableSize_MidBlock_AppliesFromTheNextBlock()
    {
        var encoder = new HpackEncoder();
        var decoder = new HpackDecoder();
        var output = new ArrayBufferWriter<byte>();
        encoder.BeginBlock(output);
        encoder.Encode(output, "x-a", "1", HpackIndexing.Index);
        encoder.SetPeerMaxTableSize(0);
        encoder.Encode(output, "x-a", "1", HpackIndexing.Index); // still the table the decoder has

        Assert.Equal([("x-a", "1"), ("x-a", "1")], decoder.Decode(output.WrittenSpan.ToArray()));
        Assert.Equal([("x-a", "1")], encoder.DynamicTable.Entries());

        Assert.Equal([("x-a", "1")], decoder.Decode(encoder.EncodeBlock(HpackIndexing.Index, ("x-a", "1"))));
        Assert.Empty(encoder.DynamicTable.Entries());
        Assert.Empty(decoder.DynamicTable.Entries());
        Assert.Equal(0, decoder.DynamicTable.MaxSize);
    }

    [Fact]
    public void EncodeThenDecode_RandomBlocksWithEvictionAndResizing_TablesStayIdentical()
    {
        var random = new Random(1337);
        var names = new[] { ":path", ":authority", "content-type", "authorization", "x-a", "x-b", "x-c", "grpc-timeout", "user-agent", "x-long-header-name" };
        var values = Enumerable.Range(0, 40).Select(i => new string((char)('a' + i % 26), random.Next(0, 120))).ToArray();
        foreach (var tableSize in new[] { 0, 64, 256, 1000, 4096 })
        {
            var encoder = new HpackEncoder(tableSize);
            var decoder = new HpackDecoder(tableSize);
            for (var block = 0; block < 300; block++)
            {
                if (random.Next(20) == 0)
                    encoder.SetPeerMaxTableSize(random.Next(0, tableSize + 1));
                if (random.Next(40) == 0)
                    encoder.SetPeerMaxTableSize(tableSize);
                var fields = Enumerable.Range(0, random.Next(0, 12)).Select(_ => (names[random.Next(names.Length)], values[random.Next(values.Length)])).ToArray();
                var indexing = (HpackIndexing)random.Next(3);
                var output = new ArrayBufferWriter<byte>();
                encoder.BeginBlock(output);
                foreach (var (name, value) in fields)
                    encoder.Encode(output, name, value, random.Next(4) == 0 ? indexing : HpackIndexing.Index);

                Assert.Equal(fields, decoder.Decode(output.WrittenSpan.ToArray()));
                Assert.Equal(decoder.DynamicTable.Entries(), encoder.DynamicTable.Entries());
                Assert.Equal(decoder.DynamicTable.Size, encoder.DynamicTable.Size);
                Assert.Equal(decoder.DynamicTable.MaxSize, encoder.DynamicTable.MaxSize);
            }
        }
    }

    [Fact]
    public void Encode_RepeatedFields_AllocatesNothing()
    {
        var encoder = new HpackEncoder();
        var output = new ArrayBufferWriter<byte>(4096);
        var authorization = "Bearer " + new string('t', 700);
        var fields = new (string, string, HpackIndexing)[]
        {
            (":method", "POST", HpackIndexing.Index),
            (":scheme", "http", HpackIndexing.Index),
            (":path", "/pkg.Service/Method", HpackIndexing.Index),
            (":authority", "127.0.0.1:8000", HpackIndexing.Index),
            ("content-type", "application/grpc", HpackIndexing.Index),
            ("te", "trailers", HpackIndexing.Index),
            ("user-agent", "esp-dotnet/1.0", HpackIndexing.Index),
            ("x-endpoint-api-userinfo", new string('u', 600), HpackIndexing.Index),
            ("grpc-timeout", "100m", HpackIndexing.WithoutIndexing),
            ("authorization", authorization, HpackIndexing.NeverIndex),
        };
        void EncodeAll()
        {
            output.ResetWrittenCount();
            encoder.BeginBlock(output);
            foreach (var (name, value, indexing) in fields)
                encoder.Encode(output, name, value, indexing);
        }
        for (var i = 0; i < 100; i++)
            EncodeAll();

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
            EncodeAll();
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
        Assert.Equal(6, encoder.DynamicTable.Count); // the static pairs, grpc-timeout and authorization are not added
    }

    [Fact]
    public void Encode_TokenBetweenPerCallLongLiterals_StaysRememberedAllocatesNothing()
    {
        // A caller's token is the same string on every call; a long never-indexed value that changes
        // on every call (a signed request id) takes a remembered slot each time and must not push the
        // token out (with round-robin replacement it did, and the token was narrowed again).
        var encoder = new HpackEncoder();
        var output = new ArrayBufferWriter<byte>(16384);
        var authorization = "Bearer " + new string('t', 700);
        var oneOff = Enumerable.Range(0, 400).Select(i => $"{i:D4}" + new string('r', 80)).ToArray();
        for (var i = 0; i < 100; i++)
        {
            encoder.Encode(output, "authorization", authorization, HpackIndexing.NeverIndex);
            encoder.Encode(output, "cookie", oneOff[i], HpackIndexing.NeverIndex);
        }

        long tokenAllocations = 0;
        for (var i = 100; i < oneOff.Length; i++)
        {
            output.ResetWrittenCount();
            var before = GC.GetAllocatedBytesForCurrentThread();
            encoder.Encode(output, "authorization", authorization, HpackIndexing.NeverIndex);
            tokenAllocations += GC.GetAllocatedBytesForCurrentThread() - before;
            encoder.Encode(output, "cookie", oneOff[i], HpackIndexing.NeverIndex);
        }

        Assert.Equal(0, tokenAllocations);
    }
}
