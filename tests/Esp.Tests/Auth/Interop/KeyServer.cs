using System.Collections.Concurrent;
using Esp.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Esp.Tests.Auth.Interop;

/// <summary>
/// A key publisher on 127.0.0.1, port 0, over HTTP/1.1: <c>/jwks/NAME</c> serves
/// <c>ROOT/NAME/jwks.json</c> and <c>/x509/NAME</c> serves <c>ROOT/NAME/x509.json</c> (what
/// tests/peers/tokens.py writes); anything else is 404. NAME may be a service account's email, as
/// in Google's <c>/robot/v1/metadata/x509/EMAIL</c>.
/// </summary>
internal sealed class KeyServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, int> _hits = new(StringComparer.Ordinal);

    private KeyServer(WebApplication app, string root)
    {
        _app = app;
        Root = root;
    }

    /// <summary>The directory served: one subdirectory per published key set.</summary>
    public string Root { get; }

    public Uri Address { get; private set; } = null!;

    /// <summary>The JWKS URL of the key set in <c>ROOT/name</c>.</summary>
    public string JwksUri(string name) => new Uri(Address, "/jwks/" + name).ToString();

    /// <summary>The Google X.509 certificate map URL of the key set in <c>ROOT/name</c>.</summary>
    public string X509Uri(string name) => new Uri(Address, "/x509/" + name).ToString();

    /// <summary>Requests that were answered with a key document, by path.</summary>
    public int Hits(string path) => _hits.GetValueOrDefault(path);

    public static async Task<KeyServer> StartAsync(string root)
    {
        KeyServer? server = null;
        var (app, port) = await LoopbackKestrel.StartAsync(HttpProtocols.Http1AndHttp2, app => app.Run(context => server!.ServeAsync(context)));
        server = new KeyServer(app, root);
        var address = $"http://127.0.0.1:{port}/";
        server.Address = new Uri(address);
        return server;
    }

    private async Task ServeAsync(HttpContext context)
    {
        var path = context.Request.Path.Value ?? "";
        var file = FileFor(path);
        if (!HttpMethods.IsGet(context.Request.Method) || file is null || !File.Exists(file))
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }
        _hits.AddOrUpdate(path, 1, (_, n) => n + 1);
        context.Response.ContentType = "application/json; charset=utf-8";
        await context.Response.SendFileAsync(file, context.RequestAborted);
    }

    private string? FileFor(string path)
    {
        foreach (var (prefix, fileName) in new[] { ("/jwks/", "jwks.json"), ("/x509/", "x509.json") })
        {
            if (!path.StartsWith(prefix, StringComparison.Ordinal))
                continue;
            var name = path[prefix.Length..];
            if (name.Length == 0 || name is "." or ".." || name.Contains('/', StringComparison.Ordinal) || name.Contains('\\', StringComparison.Ordinal))
                return null;
            return Path.Combine(Root, name, fileName);
        }
        return null;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().DefaultTimeout();
        await _app.DisposeAsync();
    }
}
