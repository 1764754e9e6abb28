using BenchmarkDotNet.Attributes;
using Esp.Grpc.Protocol;

namespace Esp.Benchmarks;

/// <summary><see cref="PercentEncoding"/>: grpc-message values, plain ASCII (the fast path) and escaped.</summary>
[MemoryDiagnoser]
public class PercentEncodingBenchmarks
{
    private const string Ascii = "Unable to find the item keyed by 3";
    private const string Unicode = "Ungültige Anfrage: 100% daneben\n(Regal 3 fehlt)";

    private readonly string _escaped = PercentEncoding.Encode(Unicode);

    [Benchmark(Description = "Encode, ASCII (unchanged)")]
    public string EncodeAscii() => PercentEncoding.Encode(Ascii);

    [Benchmark(Description = "Encode, needs escapes")]
    public string EncodeEscaped() => PercentEncoding.Encode(Unicode);

    [Benchmark(Description = "Decode, no escapes")]
    public string DecodeAscii() => PercentEncoding.Decode(Ascii);

    [Benchmark(Description = "Decode, escaped")]
    public string DecodeEscaped() => PercentEncoding.Decode(_escaped);
}
