using Esp.Grpc.Protocol;

namespace Esp.Grpc.Server;

public sealed class GrpcServerOptions
{
    /// <summary>Largest request message accepted (after decompression); larger gets RESOURCE_EXHAUSTED. Default 4 MiB.</summary>
    public int MaxReceiveMessageSize { get; init; } = GrpcProtocol.DefaultMaxReceiveMessageSize;

    /// <summary>Compress every response with gzip when the caller accepts it. A call can also opt in through its context.</summary>
    public bool CompressResponses { get; init; }

    /// <summary>The clock for deadlines (tests pass a fake one).</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}
