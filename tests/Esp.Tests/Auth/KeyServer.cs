using System.Collections.Concurrent;
using System.Text;
using Esp.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Esp.Tests.Auth;

/// <summary>
/// A key server the test controls: real Kestrel (HTTP/1.1) on 127.0.0.1, port 0, answering each
/// path as told (JWKS, certificate maps, OpenID configurations, errors, silence) and counting the
/// requests per path. Unknown paths get 404.
/// </summary>
internal sealed class KeyServer : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, RequestDelegate> _routes = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _requests = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private WebApplication _app = null!;
    private bool _disposed;

    private KeyServer()
    {
    }

    public Uri Address { get; private set; } = null!;

    public int TotalRequests => _requests.Values.Sum();

    public static async Task<KeyServer> StartAsync()
    {
        var server = new KeyServer();
        var (app, port) = await LoopbackKestrel.StartAsync(HttpProtocols.Http1, app => app.Run(server.HandleAsync));
        server._app = app;
        server.Address = new Uri($"http://127.0.0.1:{port}/");
        return server;
    }

    /// <summary>The absolute URL of <paramref name="path"/> on this server.</summary>
    public string Url(string path) => new Uri(Address, path).ToString();

    /// <summary>Answers <paramref name="path"/> with <paramref name="body"/> and <paramref name="status"/>.</summary>
    public void Serve(string path, string body, int status = StatusCodes.Status200OK) => Serve(path, Encoding.UTF8.GetBytes(body), status);

    public void Serve(string path, byte[] body, int status = StatusCodes.Status200OK) => Handle(path, async context =>
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.Body.WriteAsync(body, context.RequestAborted);
    });

    /// <summary>Accepts the request and never answers (until the client gives up or the server stops).</summary>
    public void Hang(string path) => Handle(path, async context =>
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, _stopping.Token);
        try
        {
            await Task.Delay(Timeout.Infinite, linked.Token);
        }
        catch (OperationCanceledException)
        {
        }
    });

    public void Handle(string path, RequestDelegate handler) => _routes[path] = handler;

    /// <summary>How many requests reached <paramref name="path"/>.</summary>
    public int Requests(string path) => _requests.GetValueOrDefault(path);

    private Task HandleAsync(HttpContext context)
    {
        var path = context.Request.Path.Value ?? "";
        _requests.AddOrUpdate(path, 1, (_, n) => n + 1);
        if (_routes.TryGetValue(path, out var handler))
            return handler(context);
        context.Response.StatusCode = StatusCodes.Status404NotFound;
        return Task.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
            return;
        _disposed = true;
        await _stopping.CancelAsync();
        await _app.StopAsync().DefaultTimeout();
        await _app.DisposeAsync();
        _stopping.Dispose();
    }
}
