using System.Buffers;
using Esp.Grpc.Http2.Hpack;
using Xunit;
using static Esp.Tests.Grpc.Http2.Hpack.HpackTesting;

namespace Esp.Tests.Grpc.Http2.Hpack;

/// <summary>Random and mutated blocks: the decoder either decodes them or throws <see cref="HpackException"/>, nothing else.</summary>
public class HpackRobustnessTests
{
    [Fact]
    public void Decode_RandomOctets_OnlyHpackExceptionOrSuccess()
    {
        var random = new Random(404);
        var decoder = new HpackDecoder(maxHeaderListSize: 4096);
        var failures = 0;
        for (var i = 0; i < 20_000; i++)
        {
            var block = new byte[random.Next(0, 80)];
            random.NextBytes(block);
            if (!TryDecode(decoder, block))
            {
                failures++;
                decoder = new HpackDecoder(maxHeaderListSize: 4096); // the table is out of step: a new connection
            }
        }
        Assert.InRange(failures, 1, 20_000);
    }

    [Fact]
    public void Decode_MutatedValidBlocks_OnlyHpackExceptionOrSuccess()
    {
        var random = new Random(405);
        var connections = Connections(random);
        var failures = 0;
        for (var i = 0; i < 20_000; i++)
        {
            var (tableSize, blocks) = connections[random.Next(connections.Count)];
            var target = random.Next(blocks.Count);
            var decoder = new HpackDecoder(tableSize, maxHeaderListSize: random.Next(2) == 0 ? 65536 : 200);
            for (var b = 0; b < target; b++)
                Assert.True(TryDecode(decoder, blocks[b]));

            if (!TryDecode(decoder, Mutate(random, blocks[target])))
            {
                failures++;
                decoder = new HpackDecoder(tableSize);
            }
            if (target + 1 < blocks.Count)
                TryDecode(decoder, blocks[target + 1]); // may fail (the tables may differ now), but only as HPACK
        }
        Assert.InRange(failures, 1000, 20_000);
    }

    /// <summary>Decodes, checking the table's invariants; false on <see cref="HpackException"/>, a test failure on any other exception.</summary>
    private static bool TryDecode(HpackDecoder decoder, byte[] block)
    {
        try
        {
            decoder.Decode(block, new HeaderList());
        }
        catch (HpackException)
        {
            return false;
        }
        catch (Exception ex)
        {
            Assert.Fail($"Block {Convert.ToHexStringLower(block)} threw {ex}");
        }
        var table = decoder.DynamicTable;
        Assert.InRange(table.Size, 0, table.MaxSize);
        Assert.Equal(table.Entries().Sum(e => e.Name.Length + e.Value.Length + 32), table.Size);
        return true;
    }

    private static byte[] Mutate(Random random, byte[] block)
    {
        var octets = block.ToList();
        for (var n = random.Next(1, 4); n > 0; n--)
        {
            switch (random.Next(5))
            {
                case 0 or 1 when octets.Count > 0: // flip a bit
                    var at = random.Next(octets.Count);
                    octets[at] ^= (byte)(1 << random.Next(8));
                    break;
                case 2 when octets.Count > 0: // truncate
                    var cut = random.Next(octets.Count);
                    octets.RemoveRange(cut, octets.Count - cut);
                    break;
                case 3: // insert a random octet
                    octets.Insert(random.Next(octets.Count + 1), (byte)random.Next(256));
                    break;
                default: // overwrite with a random octet
                    if (octets.Count > 0)
                        octets[random.Next(octets.Count)] = (byte)random.Next(256);
                    break;
            }
        }
        return [.. octets];
    }

    /// <summary>Valid connections: the RFC's examples, Huffman-coded literals, and our encoder's output (table size, blocks).</summary>
    private static List<(int TableSize, List<byte[]> Blocks)> Connections(Random random)
    {
        var connections = new List<(int, List<byte[]>)>
        {
            (4096, [Hex("8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d"), Hex("8286 84be 5808 6e6f 2d63 6163 6865"),
                Hex("8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65")]),
            (4096, [Hex("8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff"), Hex("8286 84be 5886 a8eb 1064 9cbf"),
                Hex("8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf")]),
            (256, [Hex("4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3"),
                Hex("4883 640e ffc1 c0bf"),
                Hex("88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07")]),
            (4096, [[.. HuffmanLiteral("x-a", "some value"), .. HuffmanLiteral("x-b", "Mon, 21 Oct 2013 20:13:21 GMT"), 0xbf, 0xbe],
                [0x20, 0x3f, 0xe1, 0x1f, .. HuffmanLiteral("grpc-message", "not found: shelf 3")]]),
        };
        foreach (var tableSize in new[] { 100, 4096 })
        {
            var encoder = new HpackEncoder(tableSize);
            var blocks = new List<byte[]>();
            for (var b = 0; b < 8; b++)
            {
                if (b == 4)
                    encoder.SetPeerMaxTableSize(tableSize / 2);
                var output = new ArrayBufferWriter<byte>();
                encoder.BeginBlock(output);
                for (var f = random.Next(1, 8); f > 0; f--)
                    encoder.Encode(output, $"x-h{random.Next(5)}", new string('v', random.Next(0, 30)), (HpackIndexing)random.Next(3));
                blocks.Add(output.WrittenSpan.ToArray());
            }
            connections.Add((tableSize, blocks));
        }
        return connections;
    }
}
