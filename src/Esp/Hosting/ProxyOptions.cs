using System.Net;
using Esp.Auth.ServiceAccounts;

namespace Esp.Hosting;

/// <summary>Everything <c>esp run</c> is told on its command line.</summary>
internal sealed record ProxyOptions
{
    public IReadOnlyList<string> ServiceConfigPaths { get; init; } = [];

    public string? DescriptorPath { get; init; }

    public string? ServiceJsonPath { get; init; }

    public string Backend { get; init; } = "grpc://127.0.0.1:8081";

    /// <summary>PEM roots to trust for grpcs:// backends instead of the system's.</summary>
    public string? BackendRootCertsPath { get; init; }

    /// <summary>Cleartext HTTP/2 (gRPC). 0 picks a free port; null: no such listener.</summary>
    public int? Http2Port { get; init; }

    /// <summary>HTTP/1.1 (health checks; gRPC callers are told to use HTTP/2).</summary>
    public int? HttpPort { get; init; }

    /// <summary>TLS, HTTP/2 and HTTP/1.1 by ALPN; needs <see cref="SslServerCertPath"/>.</summary>
    public int? SslPort { get; init; }

    /// <summary>A directory holding <c>server.crt</c> and <c>server.key</c> (PEM).</summary>
    public string? SslServerCertPath { get; init; }

    public IPAddress ListenerAddress { get; init; } = IPAddress.Any;

    public string? HealthzPath { get; init; }

    /// <summary>The access log: on (one line per call) unless turned off.</summary>
    public bool AccessLog { get; init; } = true;

    public LogFormat LogFormat { get; init; } = LogFormat.Text;

    public Esp.Auth.AuthOptions Auth { get; init; } = new();

    /// <summary><c>--service_account_key</c>: the proxy's own identity, for ID tokens to backends with a <c>jwt_audience</c>.</summary>
    public ServiceAccountKey? ServiceAccountKey { get; init; }

    /// <summary><c>--api_keys=FILE</c>: the key store, as read at start (the proxy then reloads it on change).</summary>
    public ApiKeyStoreOptions? ApiKeys { get; init; }

    /// <summary>How long calls in flight may take to finish after SIGTERM.</summary>
    public TimeSpan ShutdownGracePeriod { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>
    /// How long a unary or server-streaming call may go without any part of its one request
    /// message arriving (ESPv1's nginx had the same 60 s <c>client_body_timeout</c>); then it ends
    /// with DEADLINE_EXCEEDED before reaching the backend. Streaming requests have no such bound.
    /// </summary>
    public TimeSpan RequestMessageTimeout { get; init; } = TimeSpan.FromSeconds(60);
}

internal enum LogFormat
{
    Text,
    Json,
}

/// <summary>The key store's file and its first, valid, version.</summary>
internal sealed record ApiKeyStoreOptions(string Path, Esp.ApiKeys.ApiKeyStoreReadResult Initial);
