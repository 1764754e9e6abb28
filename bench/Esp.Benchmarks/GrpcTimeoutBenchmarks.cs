using BenchmarkDotNet.Attributes;
using Esp.Grpc.Protocol;

namespace Esp.Benchmarks;

/// <summary><see cref="GrpcTimeout"/>: the grpc-timeout header, read on every call with a deadline and written on forwarding.</summary>
[MemoryDiagnoser]
public class GrpcTimeoutBenchmarks
{
    private readonly TimeSpan _hundredMilliseconds = TimeSpan.FromMilliseconds(100);
    private readonly TimeSpan _odd = TimeSpan.FromTicks(12_345_678_901);

    [Benchmark(Description = "TryParse(\"100m\")")]
    public TimeSpan TryParseShort() => GrpcTimeout.TryParse("100m", out var timeout) ? timeout : default;

    [Benchmark(Description = "TryParse(\"99999999n\")")]
    public TimeSpan TryParseLong() => GrpcTimeout.TryParse("99999999n", out var timeout) ? timeout : default;

    [Benchmark(Description = "Format(100 ms)")]
    public string Format() => GrpcTimeout.Format(_hundredMilliseconds);

    [Benchmark(Description = "Format(20 min 34.5678901 s)")]
    public string FormatOdd() => GrpcTimeout.Format(_odd);
}
