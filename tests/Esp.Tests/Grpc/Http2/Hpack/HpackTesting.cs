using System.Buffers;
using System.Text;
using Esp.Grpc.Http2.Hpack;
using Xunit;

namespace Esp.Tests.Grpc.Http2.Hpack;

/// <summary>Collects decoded fields as Latin-1 strings.</summary>
internal sealed class HeaderList : IHpackHeaderHandler
{
    public List<(string Name, string Value)> Fields { get; } = [];

    public void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value) =>
        Fields.Add((Encoding.Latin1.GetString(name), Encoding.Latin1.GetString(value)));
}

internal static class HpackTesting
{
    /// <summary>Octets from hex as the RFC prints them: spaces and line breaks ignored.</summary>
    public static byte[] Hex(string hex) => Convert.FromHexString(string.Concat(hex.Where(c => !char.IsWhiteSpace(c))));

    public static byte[] Latin1(string s) => Encoding.Latin1.GetBytes(s);

    /// <summary>Decodes a block that must be within the header list limit; its fields.</summary>
    public static List<(string Name, string Value)> Decode(this HpackDecoder decoder, byte[] block)
    {
        var fields = new HeaderList();
        Assert.True(decoder.Decode(block, fields));
        return fields.Fields;
    }

    /// <summary>The entries, newest first.</summary>
    public static List<(string Name, string Value)> Entries(this HpackDynamicTable table)
    {
        var entries = new List<(string, string)>();
        for (var i = 0; i < table.Count; i++)
        {
            var n = table.InsertionAt(i);
            entries.Add((Encoding.Latin1.GetString(table.Name(n)), Encoding.Latin1.GetString(table.Value(n))));
        }
        return entries;
    }

    /// <summary>One block from our encoder: the pending size update, then each field with the same indexing.</summary>
    public static byte[] EncodeBlock(this HpackEncoder encoder, HpackIndexing indexing, params (string Name, string Value)[] fields)
    {
        var output = new ArrayBufferWriter<byte>();
        encoder.BeginBlock(output);
        foreach (var (name, value) in fields)
            encoder.Encode(output, name, value, indexing);
        return output.WrittenSpan.ToArray();
    }

    /// <summary>A literal field with incremental indexing, both strings Huffman-coded (our encoder writes raw ones).</summary>
    public static byte[] HuffmanLiteral(string name, string value)
    {
        var output = new List<byte> { 0x40 };
        foreach (var s in new[] { name, value })
        {
            var octets = Latin1(s);
            var encoded = new byte[Huffman.GetEncodedLength(octets)];
            Huffman.Encode(octets, encoded);
            var length = new byte[HpackInteger.MaxLength];
            output.AddRange(length.AsSpan(0, HpackInteger.Write(length, encoded.Length, 7, 0x80)).ToArray());
            output.AddRange(encoded);
        }
        return [.. output];
    }
}
