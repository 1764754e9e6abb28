using System.Net;
using System.Security.Cryptography.X509Certificates;
using Esp.Grpc.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Bookstore.Server;

internal sealed record BookstoreServerOptions
{
    /// <summary>0 picks a free port.</summary>
    public int Port { get; init; }

    public IPAddress Address { get; init; } = IPAddress.IPv6Any;

    /// <summary>PEM certificate and key: serve TLS (HTTP/2 by ALPN) instead of cleartext HTTP/2.</summary>
    public string? TlsCertificatePath { get; init; }

    public string? TlsKeyPath { get; init; }

    public LogLevel MinimumLogLevel { get; init; } = LogLevel.Information;

    /// <summary>No log line per call; the calls are counted by grpc-status instead, served at GET /stats (<see cref="CallStats"/>).</summary>
    public bool Quiet { get; init; }
}

/// <summary>The Bookstore gRPC server on Kestrel, started and stopped as a unit (the CLI and the tests use it).</summary>
internal sealed class BookstoreServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private BookstoreServer(WebApplication app, ShelfStore store, int port)
    {
        _app = app;
        Store = store;
        Port = port;
    }

    public ShelfStore Store { get; }

    /// <summary>The port it listens on (the chosen one when started with port 0).</summary>
    public int Port { get; }

    public static async Task<BookstoreServer> StartAsync(BookstoreServerOptions options, Action<ILoggingBuilder>? configureLogging = null)
    {
        var certificate = options.TlsCertificatePath is null
            ? null
            : X509Certificate2.CreateFromPemFile(options.TlsCertificatePath, options.TlsKeyPath);

        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = null;
            kestrel.Listen(options.Address, options.Port, listen =>
            {
                if (certificate is null)
                {
                    listen.Protocols = HttpProtocols.Http2;
                }
                else
                {
                    listen.Protocols = HttpProtocols.Http1AndHttp2;
                    listen.UseHttps(certificate);
                }
            });
        });
        builder.Logging.SetMinimumLevel(options.MinimumLogLevel);
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        if (configureLogging is null)
            builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        else
            configureLogging(builder.Logging);

        var app = builder.Build();
        var store = ShelfStore.CreateSample();
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Bookstore");
        if (options.Quiet)
            app.Use(new CallStats().HandleAsync);
        app.UseGrpcServices(new GrpcServerOptions(), new BookstoreService(store, options.Quiet ? null : logger).CreateDefinition());
        await app.StartAsync();

        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new BookstoreServer(app, store, new Uri(address.Replace("[::]", "localhost", StringComparison.Ordinal)).Port);
    }

    public Task WaitForShutdownAsync() => _app.WaitForShutdownAsync();

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
