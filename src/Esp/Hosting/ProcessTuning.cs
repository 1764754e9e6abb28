namespace Esp.Hosting;

/// <summary>Process-wide runtime settings that must be in place before anything else runs.</summary>
internal static class ProcessTuning
{
    /// <summary>
    /// The shared <c>ArrayPool</c> keeps at most 32 arrays of each size per CPU. The backend client
    /// rents a block from it for every response body it buffers (SocketsHttpHandler, before it, a
    /// 16 KiB block), so with more calls in flight than that (256 in bench/load.sh, on one CPU)
    /// most rents would allocate a new array that soon becomes garbage: measured with
    /// SocketsHttpHandler, 40 KB allocated per proxied call instead of 5 KB. Room for 1024 arrays
    /// of a size (trimmed by the pool itself once unused).
    /// The runtime reads the variable once, at the pool's first use; an operator's own value wins.
    /// </summary>
    public const string ArraysPerPartitionVariable = "DOTNET_SYSTEM_BUFFERS_SHAREDARRAYPOOL_MAXARRAYSPERPARTITION";

    public const int ArraysPerPartition = 1024;

    public static void Apply()
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable(ArraysPerPartitionVariable)))
            Environment.SetEnvironmentVariable(ArraysPerPartitionVariable, ArraysPerPartition.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }
}
