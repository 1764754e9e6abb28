using System.IO.Pipelines;
using BenchmarkDotNet.Attributes;
using Endpoints.Examples.Bookstore;
using Esp.Grpc.Protocol;

namespace Esp.Benchmarks;

/// <summary>
/// <see cref="PipeMessageReader.ReadMessageAsync"/>: 1000 small messages (Bookstore shelves,
/// 16-17 byte frames) read and parsed off a Pipe, as a streaming call's body. Reported per message.
/// </summary>
[MemoryDiagnoser]
public class PipeMessageReaderBenchmarks
{
    private const int Messages = 1000;

    private byte[] _frames = [];

    [GlobalSetup]
    public void Setup()
    {
        using var stream = new MemoryStream();
        for (var i = 0; i < Messages; i++)
            stream.Write(Benchmarks.Messages.Frame(new Shelf { Id = i, Theme = "Fiction" }));
        _frames = stream.ToArray();
    }

    /// <summary>Everything buffered first (4 KiB pipe segments), then read message by message.</summary>
    [Benchmark(OperationsPerInvoke = Messages, Description = "1000 messages, buffered (per message)")]
    public async Task<int> ReadBuffered()
    {
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0, useSynchronizationContext: false));
        await pipe.Writer.WriteAsync(_frames);
        await pipe.Writer.CompleteAsync();
        return await ReadAll(pipe.Reader);
    }

    /// <summary>The frames arrive in 1 KiB writes (like small DATA frames), interleaved with the reads.</summary>
    [Benchmark(OperationsPerInvoke = Messages, Description = "1000 messages, 1 KiB writes interleaved (per message)")]
    public async Task<int> ReadInterleaved()
    {
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0, useSynchronizationContext: false));
        var writer = WriteInChunks(pipe.Writer, _frames, 1024);
        var count = await ReadAll(pipe.Reader);
        await writer;
        return count;
    }

    private static async Task<int> ReadAll(PipeReader reader)
    {
        var count = 0;
        while (await PipeMessageReader.ReadMessageAsync(reader, Shelf.Parser, null, Benchmarks.Messages.MaxMessageSize, CancellationToken.None) is not null)
            count++;
        await reader.CompleteAsync();
        return count == Messages ? count : throw new InvalidOperationException($"Read {count} messages, expected {Messages}.");
    }

    private static async Task WriteInChunks(PipeWriter writer, byte[] data, int chunk)
    {
        for (var offset = 0; offset < data.Length; offset += chunk)
        {
            await writer.WriteAsync(data.AsMemory(offset, Math.Min(chunk, data.Length - offset)));
            await Task.Yield();
        }
        await writer.CompleteAsync();
    }
}
