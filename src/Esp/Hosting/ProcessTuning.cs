using System.Globalization;

namespace Esp.Hosting;

/// <summary>
/// Process-wide runtime settings that must be in place before anything else runs. Each is an
/// environment variable the runtime reads once; an operator's own value wins.
/// </summary>
internal static class ProcessTuning
{
    /// <summary>
    /// The shared <c>ArrayPool</c> keeps at most 32 arrays of each size per CPU. The backend client
    /// rents a block from it for every response body it buffers (SocketsHttpHandler, before it, a
    /// 16 KiB block), so with more calls in flight than that (256 in bench/load.sh, on one CPU)
    /// most rents would allocate a new array that soon becomes garbage: measured with
    /// SocketsHttpHandler, 40 KB allocated per proxied call instead of 5 KB. Room for 1024 arrays
    /// of a size (trimmed by the pool itself once unused). Read at the pool's first use.
    /// </summary>
    public const string ArraysPerPartitionVariable = "DOTNET_SYSTEM_BUFFERS_SHAREDARRAYPOOL_MAXARRAYSPERPARTITION";

    public const int ArraysPerPartition = 1024;

    /// <summary>
    /// Socket completions run on the thread that polls the sockets (one per CPU then) instead of
    /// being queued to the thread pool, which would wake a worker for each. What runs there is our
    /// HTTP/2 read loops and send completions, which never block: a request's handler is still
    /// queued to the thread pool by the server (and Kestrel, on the TLS and HTTP/1.1 listeners,
    /// still schedules its own work; key fetches resume on the thread pool). With the proxy checking
    /// JWTs on the core it shares with the backend (bench/ab.sh): +29% calls per second, a quarter
    /// less proxy CPU and half the context switches per call. Read when the first socket opens.
    /// </summary>
    public const string InlineSocketCompletionsVariable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    public static void Apply()
    {
        SetUnlessGiven(ArraysPerPartitionVariable, ArraysPerPartition.ToString(CultureInfo.InvariantCulture));
        SetUnlessGiven(InlineSocketCompletionsVariable, "1");
    }

    private static void SetUnlessGiven(string variable, string value)
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable(variable)))
            Environment.SetEnvironmentVariable(variable, value);
    }
}
