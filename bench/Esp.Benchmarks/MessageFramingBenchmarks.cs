using System.Buffers;
using BenchmarkDotNet.Attributes;
using Esp.Grpc.Protocol;

namespace Esp.Benchmarks;

/// <summary><see cref="MessageFraming.TryReadFrame"/>: slicing one frame off the request or response body.</summary>
[MemoryDiagnoser]
public class MessageFramingBenchmarks
{
    private const int FramesInBatch = 64;

    private ReadOnlySequence<byte> _small;
    private ReadOnlySequence<byte> _smallHeaderSplit;
    private ReadOnlySequence<byte> _large;
    private ReadOnlySequence<byte> _batch;

    [GlobalSetup]
    public void Setup()
    {
        var small = Messages.Frame(Messages.ListShelvesResponse());
        _small = new ReadOnlySequence<byte>(small);
        // The 5-byte header split 2 + 3 across segments, the body in a third.
        _smallHeaderSplit = BufferSegment.Split(small, 2, 3);
        // A ~16 KiB message over 4 KiB segments (a Pipe's default segment size).
        _large = BufferSegment.Chunk(Messages.Frame(Messages.ManyShelves(1200)), 4096);
        _batch = new ReadOnlySequence<byte>(Enumerable.Repeat(small, FramesInBatch).SelectMany(f => f).ToArray());
    }

    [Benchmark(Baseline = true, Description = "small frame, one segment")]
    public long SingleSegment() => Read(_small);

    [Benchmark(Description = "small frame, header split over segments")]
    public long MultiSegmentHeaderSplit() => Read(_smallHeaderSplit);

    [Benchmark(Description = "16 KiB frame over 4 KiB segments")]
    public long MultiSegmentLarge() => Read(_large);

    [Benchmark(OperationsPerInvoke = FramesInBatch, Description = "64 small frames in one segment (per frame)")]
    public long SingleSegmentBatch()
    {
        var buffer = _batch;
        long total = 0;
        while (MessageFraming.TryReadFrame(ref buffer, Messages.MaxMessageSize, out _, out var message))
            total += message.Length;
        return total;
    }

    private static long Read(ReadOnlySequence<byte> sequence)
    {
        var buffer = sequence;
        return MessageFraming.TryReadFrame(ref buffer, Messages.MaxMessageSize, out _, out var message) ? message.Length : -1;
    }
}
