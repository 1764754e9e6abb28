using System.Buffers;
using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Esp.Grpc.Http2.Hpack;
using Esp.Tests.Infrastructure;
using Xunit;

namespace Esp.Tests.Grpc.Http2.Hpack;

/// <summary>
/// Our encoder and decoder against python-hpack (an independent implementation, Debian's
/// python3-hpack, run by hpack_peer.py): many random blocks on one connection each way, with the
/// dynamic table carried from block to block, evicting, and resized.
/// </summary>
public class HpackInteropTests
{
    private const int Blocks = 150;

    private static readonly string Peer = Path.Combine(RepositoryPaths.Root, "tests", "Esp.Tests", "Grpc", "Http2", "Hpack", "hpack_peer.py");

    private static readonly string[] Names =
    [
        ":path", ":authority", ":status", "content-type", "authorization", "user-agent", "grpc-timeout", "grpc-status",
        "grpc-message", "te", "x-a", "x-b", "x-endpoint-api-userinfo", "x-long-header-name-for-the-table",
    ];

    public static TheoryData<string, int> EncoderScenarios => new()
    {
        { "default table, resized now and then", 4096 },
        { "small table, constant eviction", 256 },
        { "no table at all", 0 },
    };

    [Theory]
    [MemberData(nameof(EncoderScenarios))]
    public async Task OurEncoder_PythonDecoder_SameFieldsAndTables(string scenario, int tableSize)
    {
        var random = new Random(20240 + tableSize);
        var pool = ValuePool(random);
        var encoder = new HpackEncoder(tableSize);
        var sent = new List<(byte[] Name, byte[] Value, bool NeverIndexed)[]>();
        var tables = new List<List<(string, string)>>();
        var blocks = new JsonArray();
        for (var b = 0; b < Blocks; b++)
        {
            int? peerSetting = null;
            if (tableSize > 0 && b > 0 && random.Next(10) == 0)
            {
                // Sometimes shrink and grow back between two blocks (RFC 7541 §4.2).
                var sizes = new[] { 0, 100, 256, 1024, 4096, 8192 };
                if (random.Next(2) == 0)
                    encoder.SetPeerMaxTableSize(sizes[random.Next(3)]);
                peerSetting = sizes[random.Next(sizes.Length)];
                encoder.SetPeerMaxTableSize(peerSetting.Value);
            }
            var output = new ArrayBufferWriter<byte>();
            encoder.BeginBlock(output);
            var fields = RandomFields(random, pool);
            foreach (var (name, value, indexing) in fields)
            {
                if (random.Next(2) == 0)
                    encoder.Encode(output, name, value, indexing);
                else
                    encoder.Encode(output, Encoding.Latin1.GetString(name), Encoding.Latin1.GetString(value), indexing);
            }
            sent.Add([.. fields.Select(f => (f.Name, f.Value, f.Indexing == HpackIndexing.NeverIndex))]);
            tables.Add(encoder.DynamicTable.Entries());
            blocks.Add(new JsonObject { ["max_allowed_table_size"] = peerSetting, ["block"] = Convert.ToHexStringLower(output.WrittenSpan) });
        }

        var answers = await RunPeerAsync(new JsonObject { ["decode"] = blocks });

        Assert.Equal(Blocks, answers.Count);
        for (var b = 0; b < Blocks; b++)
        {
            var answer = answers[b]!;
            Assert.True(answer["error"] is null, $"{scenario}, block {b}: {answer["error"]}");
            var decoded = answer["headers"]!.AsArray().Select(h => (Octets(h![0]), Octets(h[1]), (bool)h[2]!)).ToArray();
            Assert.Equal(sent[b].Length, decoded.Length);
            for (var i = 0; i < decoded.Length; i++)
            {
                Assert.Equal(sent[b][i].Name, decoded[i].Item1);
                Assert.Equal(sent[b][i].Value, decoded[i].Item2);
                Assert.Equal(sent[b][i].NeverIndexed, decoded[i].Item3);
            }
            Assert.Equal(tables[b], Table(answer));
            Assert.Equal(tables[b].Sum(e => e.Item1.Length + e.Item2.Length + 32), (int)answer["table_size"]!);
        }
    }

    public static TheoryData<string, int[]> DecoderScenarios => new()
    {
        { "default table", [4096] },
        { "small table, constant eviction", [256] },
        { "resized now and then, shrunk and grown back", [4096, 1024, 0, 4096, 300, 2048, 100, 4096] },
    };

    [Theory]
    [MemberData(nameof(DecoderScenarios))]
    public async Task PythonEncoder_OurDecoder_SameFieldsAndTables(string scenario, int[] tableSizes)
    {
        var random = new Random(7541 + tableSizes.Length + tableSizes[0]);
        var pool = ValuePool(random);
        var lists = new JsonArray();
        var sent = new List<(byte[] Name, byte[] Value)[]>();
        var resizeAt = new Dictionary<int, int>();
        for (var i = 0; i < tableSizes.Length; i++)
        {
            var at = i == 0 ? 0 : random.Next(1, Blocks);
            while (resizeAt.ContainsKey(at))
                at = random.Next(1, Blocks);
            resizeAt[at] = tableSizes[i];
        }
        for (var b = 0; b < Blocks; b++)
        {
            var fields = RandomFields(random, pool);
            sent.Add([.. fields.Select(f => (f.Name, f.Value))]);
            lists.Add(new JsonObject
            {
                // python-hpack skips an update to the size it already has: only real changes here.
                ["header_table_size"] = resizeAt.TryGetValue(b, out var size) && (b > 0 || size != 4096) ? size : null,
                ["headers"] = new JsonArray([.. fields.Select(f => (JsonNode)new JsonArray(
                    Convert.ToHexStringLower(f.Name), Convert.ToHexStringLower(f.Value), f.Indexing == HpackIndexing.NeverIndex))]),
            });
        }

        var answers = await RunPeerAsync(new JsonObject { ["encode"] = lists });

        var decoder = new HpackDecoder();
        Assert.Equal(Blocks, answers.Count);
        for (var b = 0; b < Blocks; b++)
        {
            var fields = new OctetList();
            Assert.True(decoder.Decode(Convert.FromHexString((string)answers[b]!["block"]!), fields), $"{scenario}, block {b}");
            Assert.Equal(sent[b].Length, fields.Fields.Count);
            for (var i = 0; i < sent[b].Length; i++)
            {
                Assert.Equal(sent[b][i].Name, fields.Fields[i].Name);
                Assert.Equal(sent[b][i].Value, fields.Fields[i].Value);
            }
            Assert.Equal(Table(answers[b]!), decoder.DynamicTable.Entries());
            Assert.Equal((int)answers[b]!["table_size"]!, decoder.DynamicTable.Size);
        }
    }

    /// <summary>Values that repeat (so tables hit) and a few longer ones, 0 to 300 octets of any Latin-1.</summary>
    private static byte[][] ValuePool(Random random) =>
        [.. Enumerable.Range(0, 40).Select(i => RandomOctets(random, i < 30 ? random.Next(0, 40) : random.Next(0, 301)))];

    private static List<(byte[] Name, byte[] Value, HpackIndexing Indexing)> RandomFields(Random random, byte[][] pool)
    {
        var fields = new List<(byte[], byte[], HpackIndexing)>();
        for (var i = random.Next(0, 16); i > 0; i--)
        {
            var name = random.Next(8) == 0
                ? Encoding.ASCII.GetBytes("x-" + new string((char)('a' + random.Next(26)), random.Next(1, 20)))
                : Encoding.ASCII.GetBytes(Names[random.Next(Names.Length)]);
            var value = random.Next(4) == 0 ? RandomOctets(random, random.Next(0, 301)) : pool[random.Next(pool.Length)];
            var indexing = random.Next(10) switch
            {
                0 => HpackIndexing.NeverIndex,
                1 or 2 => HpackIndexing.WithoutIndexing,
                _ => HpackIndexing.Index,
            };
            fields.Add((name, value, indexing));
        }
        return fields;
    }

    private static byte[] RandomOctets(Random random, int length)
    {
        var octets = new byte[length];
        random.NextBytes(octets);
        return octets;
    }

    private static byte[] Octets(JsonNode? hex) => Convert.FromHexString((string)hex!);

    private static List<(string, string)> Table(JsonNode answer) =>
        [.. answer["table"]!.AsArray().Select(e => (Encoding.Latin1.GetString(Octets(e![0])), Encoding.Latin1.GetString(Octets(e[1]))))];

    private static async Task<JsonArray> RunPeerAsync(JsonObject request)
    {
        var info = new ProcessStartInfo(RepositoryPaths.Python)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(Peer);
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {RepositoryPaths.Python}.");
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.StandardInput.WriteAsync(request.ToJsonString());
        process.StandardInput.Close();
        await process.WaitForExitAsync().DefaultTimeout();
        Assert.True(process.ExitCode == 0, $"hpack_peer.py failed (is python3-hpack installed? ./test installs it):\n{await errors}");
        return JsonNode.Parse(await output)!.AsArray();
    }

    private sealed class OctetList : IHpackHeaderHandler
    {
        public List<(byte[] Name, byte[] Value)> Fields { get; } = [];

        public void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value) => Fields.Add((name.ToArray(), value.ToArray()));
    }
}
