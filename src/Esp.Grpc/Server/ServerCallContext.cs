using Esp.Grpc.Protocol;
using Microsoft.AspNetCore.Http;

namespace Esp.Grpc.Server;

/// <summary>What a handler knows about its call, and what it can say besides messages.</summary>
public sealed class ServerCallContext
{
    private readonly ServerCall _call;

    internal ServerCallContext(ServerCall call, string method, DateTime deadline, CancellationToken cancellationToken)
    {
        _call = call;
        Method = method;
        Deadline = deadline;
        CancellationToken = cancellationToken;
        // Read now: the HttpContext is recycled when the call ends, a handler may look later.
        _ = Peer;
        _ = Host;
    }

    /// <summary>The <c>:path</c>, <c>/package.Service/Method</c>.</summary>
    public string Method { get; }

    public string Host => field ??= _call.HttpContext.Request.Host.Value ?? "";

    /// <summary><c>ipv4:ADDRESS:PORT</c> or <c>ipv6:[ADDRESS]:PORT</c> of the caller.</summary>
    public string Peer => field ??= ServerCall.FormatPeer(_call.HttpContext);

    /// <summary>When the call expires (UTC); <see cref="DateTime.MaxValue"/> when the caller set no deadline.</summary>
    public DateTime Deadline { get; }

    /// <summary>
    /// The caller's custom metadata (protocol headers left out), built from the request's headers
    /// on first use: ask while the call runs, as the request is recycled when it ends.
    /// </summary>
    public Metadata RequestHeaders => field ??= ReadRequestHeaders();

    private Metadata ReadRequestHeaders()
    {
        try
        {
            return MetadataHeaders.Read(_call.HttpContext.Request.Headers);
        }
        catch (ObjectDisposedException)
        {
            throw new InvalidOperationException($"The call {Method} has ended: read its RequestHeaders while it runs.");
        }
    }

    /// <summary>Cancelled when the caller cancels, the deadline passes or the connection drops.</summary>
    public CancellationToken CancellationToken { get; }

    /// <summary>Trailers sent with the status at the end of the call.</summary>
    public Metadata ResponseTrailers { get; } = new();

    /// <summary>The status the call ends with when the handler returns normally.</summary>
    public Status Status { get; set; } = Status.DefaultSuccess;

    /// <summary>Compress responses with gzip when the caller accepts it; set before the first response.</summary>
    public bool CompressResponses { get; set; }

    public HttpContext HttpContext => _call.HttpContext;

    /// <summary>Sends the response headers now, with this metadata. At most once, before any response.</summary>
    public Task WriteResponseHeadersAsync(Metadata responseHeaders) => _call.WriteResponseHeadersAsync(responseHeaders);
}
