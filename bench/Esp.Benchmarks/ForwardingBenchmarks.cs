using System.IO.Pipelines;
using BenchmarkDotNet.Attributes;
using Esp.Forwarding;

namespace Esp.Benchmarks;

/// <summary>
/// The forwarder's own per-call work, apart from Kestrel and the HTTP/2 client: deciding which
/// of a typical gRPC call's headers cross, and taking a request body (one unary message)
/// from the caller's pipe for the backend stream.
/// </summary>
[MemoryDiagnoser]
public class ForwardingBenchmarks : IDisposable
{
    private static readonly string[] TypicalHeaders =
    [
        ":method", ":scheme", ":path", ":authority", "content-type", "te", "grpc-timeout", "grpc-accept-encoding",
        "user-agent", "authorization", "x-endpoint-api-userinfo", "x-request-id",
    ];

    private readonly byte[] _message = [0, 0, 0, 0, 5, 8, 1, 18, 1, 65];
    private readonly MemoryStream _backend = new();

    [Benchmark(Description = "header rules for a typical call (12 headers)")]
    public int FilterRequestHeaders()
    {
        var forwarded = 0;
        foreach (var name in TypicalHeaders)
        {
            if (ProxyHeaders.FateOfRequestHeader(name) != RequestHeaderFate.Drop)
                forwarded++;
        }
        return forwarded;
    }

    [Benchmark(Description = "request body: one unary message, caller pipe → backend stream")]
    public async Task<long> CopyRequestBody()
    {
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(_message);
        await pipe.Writer.CompleteAsync();
        _backend.Position = 0;
        var body = new RequestBodyPump(pipe.Reader);
        if (body.TryTakeComplete(out var complete))
        {
            foreach (var segment in complete)
                _backend.Write(segment.Span);
            body.Sent(complete);
        }
        return body.BytesSent;
    }

    [GlobalCleanup]
    public void Dispose()
    {
        _backend.Dispose();
        GC.SuppressFinalize(this);
    }
}
