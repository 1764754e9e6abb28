using System.Security.Cryptography.X509Certificates;
using Esp.Grpc.Protocol;

namespace Esp.Grpc.Client;

public sealed class GrpcChannelOptions
{
    /// <summary>Largest response message accepted (after decompression). Default 4 MiB.</summary>
    public int MaxReceiveMessageSize { get; init; } = GrpcProtocol.DefaultMaxReceiveMessageSize;

    /// <summary>Send request messages gzip-compressed.</summary>
    public bool CompressRequests { get; init; }

    /// <summary>For https addresses: trust only these roots (a private CA) instead of the system's.</summary>
    public X509Certificate2Collection? RootCertificates { get; init; }

    /// <summary>For https addresses: the name to send (SNI) and to check the certificate against.</summary>
    public string? ServerNameOverride { get; init; }

    /// <summary>Use this handler instead of the channel's own pooled HTTP/2 handler; the channel does not dispose it.</summary>
    public HttpMessageHandler? HttpHandler { get; init; }

    /// <summary>The clock for deadlines (tests pass a fake one).</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    public string UserAgent { get; init; } = "esp-grpc-dotnet/1.0";
}
