using BenchmarkDotNet.Attributes;
using Endpoints.Examples.Bookstore;
using Esp.Grpc.Protocol;

namespace Esp.Benchmarks;

/// <summary><see cref="MessageSerializer.SerializeFrame"/>: the ListShelves response as one pooled frame.</summary>
[MemoryDiagnoser]
public class MessageSerializerBenchmarks
{
    private ListShelvesResponse _response = new();

    [Params(false, true)]
    public bool Gzip { get; set; }

    [GlobalSetup]
    public void Setup() => _response = Messages.ListShelvesResponse();

    [Benchmark(Description = "SerializeFrame(ListShelvesResponse, 26 B)")]
    public int SerializeFrame()
    {
        using var frame = MessageSerializer.SerializeFrame(_response, Gzip);
        return frame.Memory.Length;
    }
}
