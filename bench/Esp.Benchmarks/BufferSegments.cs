using System.Buffers;

namespace Esp.Benchmarks;

/// <summary>Builds multi-segment <see cref="ReadOnlySequence{T}"/>s, as a Pipe hands them out.</summary>
internal sealed class BufferSegment : ReadOnlySequenceSegment<byte>
{
    private BufferSegment(ReadOnlyMemory<byte> memory, long runningIndex)
    {
        Memory = memory;
        RunningIndex = runningIndex;
    }

    /// <summary><paramref name="data"/> cut into segments of <paramref name="sizes"/> bytes (the last takes the rest).</summary>
    public static ReadOnlySequence<byte> Split(byte[] data, params int[] sizes)
    {
        var offset = 0;
        BufferSegment? first = null;
        BufferSegment? last = null;
        foreach (var size in sizes.Append(int.MaxValue))
        {
            var length = Math.Min(size, data.Length - offset);
            if (length == 0)
                break;
            var segment = new BufferSegment(data.AsMemory(offset, length), offset);
            if (last is null)
                first = segment;
            else
                last.Next = segment;
            last = segment;
            offset += length;
        }
        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    /// <summary><paramref name="data"/> cut into equal segments of <paramref name="size"/> bytes.</summary>
    public static ReadOnlySequence<byte> Chunk(byte[] data, int size) =>
        Split(data, Enumerable.Repeat(size, (data.Length + size - 1) / size).ToArray());
}
