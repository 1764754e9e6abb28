using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using BenchmarkDotNet.Attributes;
using Esp.Grpc.Http2;
using Esp.Grpc.Http2.Hpack;

namespace Esp.Benchmarks;

/// <summary>
/// HPACK (<see cref="HpackDecoder"/>, <see cref="HpackEncoder"/>): a gRPC backend's response headers and
/// trailers as the client decodes them, the first time on a connection (literals, added to the
/// dynamic table) and repeated (indexed); a block of Huffman-coded literals; and a typical request
/// as the client encodes it once its table is warm.
/// </summary>
[MemoryDiagnoser]
public class HpackBenchmarks
{
    private static readonly (string Name, string Value)[] Response =
    [
        (":status", "200"),
        ("content-type", "application/grpc"),
        ("grpc-encoding", "identity"),
        ("grpc-accept-encoding", "gzip"),
        ("date", "Sun, 22 Nov 2026 02:35:54 GMT"),
    ];

    private static readonly (string Name, string Value)[] Trailers = [("grpc-status", "0"), ("grpc-message", "")];

    private readonly Handler _handler = new();
    private readonly HpackDecoder _decoder = new();
    private readonly HpackEncoder _encoder = new();
    private readonly ArrayBufferWriter<byte> _output = new(4096);
    private readonly (string Name, string Value, HpackIndexing Indexing)[] _request =
    [
        (":method", "POST", HpackIndexing.Index),
        (":scheme", "http", HpackIndexing.Index),
        (":path", "/pkg.Service/Method", HpackIndexing.Index),
        (":authority", "127.0.0.1:8000", HpackIndexing.Index),
        ("content-type", "application/grpc", HpackIndexing.Index),
        ("te", "trailers", HpackIndexing.Index),
        ("user-agent", "grpc-dotnet-esp/1.0", HpackIndexing.Index),
        ("grpc-timeout", "100m", HpackIndexing.WithoutIndexing),
        ("authorization", "Bearer " + new string('t', 693), HpackIndexing.NeverIndex),
        ("x-endpoint-api-userinfo", new string('u', 600), HpackIndexing.Index),
    ];

    private byte[] _responseFirst = [];
    private byte[] _responseRepeated = [];
    private byte[] _trailersFirst = [];
    private byte[] _trailersRepeated = [];
    private byte[] _huffman = [];
    private byte[] _bearerToken = [];
    private readonly byte[] _scratch = new byte[4096];
    private int BearerValueOffset { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        // Blocks as our encoder writes them (raw literals with incremental indexing, then indexed fields).
        var peer = new HpackEncoder();
        _responseFirst = Block(peer, Response);
        _trailersFirst = Block(peer, Trailers);
        _responseRepeated = Block(peer, Response);
        _trailersRepeated = Block(peer, Trailers);
        _decoder.Decode(_responseFirst, _handler);
        _decoder.Decode(_trailersFirst, _handler);

        // What nghttp2 or grpc-go send for fields they do not index: Huffman-coded literals.
        var huffman = new List<byte>();
        foreach (var (name, value) in Response.Concat(Trailers).Append(("grpc-message", "Unable to find the shelf keyed by 3 in the store: it was deleted")))
            huffman.AddRange(HuffmanLiteralWithoutIndexing(name, value));
        _huffman = [.. huffman];

        // A JWT as h2load and grpc-js (nghttp2) send it on every call: never indexed, Huffman-coded.
        var token = "Bearer eyJhbGciOiJSUzI1NiJ9." + Convert.ToBase64String(RandomNumberGenerator.GetBytes(540)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        _bearerToken = HuffmanLiteralWithoutIndexing("authorization", token);
        _bearerToken[0] = 0x10; // never indexed
        BearerValueOffset = _bearerToken.Length - Huffman.GetEncodedLength(Encoding.Latin1.GetBytes(token));

        EncodeRequest(); // adds the request's fields to the encoder's table
    }

    /// <remarks>Each run adds the five fields to the table again, evicting the oldest: the cost of a first response.</remarks>
    [Benchmark(Description = "Decode response headers, literals")]
    public int DecodeResponseFirst() => Decode(_responseFirst);

    [Benchmark(Description = "Decode response headers, indexed")]
    public int DecodeResponseRepeated() => Decode(_responseRepeated);

    [Benchmark(Description = "Decode trailers, literals")]
    public int DecodeTrailersFirst() => Decode(_trailersFirst);

    [Benchmark(Description = "Decode trailers, indexed")]
    public int DecodeTrailersRepeated() => Decode(_trailersRepeated);

    [Benchmark(Description = "Decode 8 Huffman-coded literals")]
    public int DecodeHuffman() => Decode(_huffman);

    [Benchmark(Description = "Decode a never-indexed Huffman-coded 750-byte bearer token")]
    public int DecodeBearerToken() => Decode(_bearerToken);

    [Benchmark(Description = "Huffman.Decode of the same token alone")]
    public int HuffmanDecodeToken() => Huffman.Decode(_bearerToken.AsSpan(BearerValueOffset), _scratch);

    [Benchmark(Description = "Encode request headers (10, 1.3 KB of values), warm table")]
    public int EncodeRequest()
    {
        _output.ResetWrittenCount();
        _encoder.BeginBlock(_output);
        foreach (var (name, value, indexing) in _request)
            _encoder.Encode(_output, name, value, indexing);
        return _output.WrittenCount;
    }

    private readonly RememberedValues _remembered = new();

    private readonly byte[][] _requestValues =
    [
        Encoding.ASCII.GetBytes("/endpoints.examples.bookstore.Bookstore/ListShelves"),
        Encoding.ASCII.GetBytes("h2load nghttp2/1.52.0"),
        Encoding.ASCII.GetBytes("application/grpc"),
        Encoding.ASCII.GetBytes("Bearer " + new string('t', 750)),
    ];

    [Benchmark(Description = "RememberedValues: one call's four long values (path, user-agent, content-type, token), all repeats")]
    public int RememberRequestValues()
    {
        var length = 0;
        foreach (var value in _requestValues)
            length += _remembered.Text(value).Length;
        return length;
    }

    private int Decode(byte[] block)
    {
        _handler.Octets = 0;
        _decoder.Decode(block, _handler);
        return _handler.Octets;
    }

    private static byte[] Block(HpackEncoder encoder, (string Name, string Value)[] fields)
    {
        var output = new ArrayBufferWriter<byte>();
        encoder.BeginBlock(output);
        foreach (var (name, value) in fields)
            encoder.Encode(output, name, value, HpackIndexing.Index);
        return output.WrittenSpan.ToArray();
    }

    private static byte[] HuffmanLiteralWithoutIndexing(string name, string value)
    {
        var block = new List<byte> { 0x00 };
        foreach (var octets in new[] { Encoding.Latin1.GetBytes(name), Encoding.Latin1.GetBytes(value) })
        {
            var encoded = new byte[Huffman.GetEncodedLength(octets)];
            Huffman.Encode(octets, encoded);
            var length = new byte[HpackInteger.MaxLength];
            block.AddRange(length[..HpackInteger.Write(length, encoded.Length, 7, 0x80)]);
            block.AddRange(encoded);
        }
        return [.. block];
    }

    private sealed class Handler : IHpackHeaderHandler
    {
        public int Octets { get; set; }

        public void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value) => Octets += name.Length + value.Length;
    }
}
