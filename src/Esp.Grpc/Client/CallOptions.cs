namespace Esp.Grpc.Client;

/// <summary>Per-call settings.</summary>
public readonly record struct CallOptions
{
    /// <summary>Request metadata.</summary>
    public Metadata? Headers { get; init; }

    /// <summary>When the call expires (UTC); sent as <c>grpc-timeout</c> and enforced locally.</summary>
    public DateTime? Deadline { get; init; }

    /// <summary>A shorthand for <see cref="Deadline"/>: this long from the start of the call; <see cref="System.Threading.Timeout.InfiniteTimeSpan"/> means none.</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>Cancels the call (the server sees RST_STREAM CANCEL).</summary>
    public CancellationToken CancellationToken { get; init; }
}
