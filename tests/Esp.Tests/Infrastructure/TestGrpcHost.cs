using System.Security.Cryptography.X509Certificates;
using Esp.Grpc.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Esp.Tests.Infrastructure;

/// <summary>Real Kestrel on 127.0.0.1, port 0, serving gRPC services with our server binding.</summary>
internal sealed class TestGrpcHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private TestGrpcHost(WebApplication app, int port, bool tls)
    {
        _app = app;
        Port = port;
        Address = new Uri($"{(tls ? "https" : "http")}://127.0.0.1:{port}");
    }

    public int Port { get; }

    public Uri Address { get; }

    public static async Task<TestGrpcHost> StartAsync(
        GrpcServiceDefinition[] services,
        GrpcServerOptions? options = null,
        X509Certificate2? certificate = null,
        HttpProtocols protocols = HttpProtocols.Http2,
        RequestDelegate? fallback = null)
    {
        var (app, port) = await LoopbackKestrel.StartAsync(certificate is null ? protocols : HttpProtocols.Http1AndHttp2, app =>
        {
            app.UseGrpcServices(options ?? new GrpcServerOptions(), services);
            if (fallback is not null)
                app.Run(fallback);
        }, certificate);
        return new TestGrpcHost(app, port, certificate is not null);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().DefaultTimeout();
        await _app.DisposeAsync();
    }
}
