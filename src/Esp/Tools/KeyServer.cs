using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Esp.Tools;

/// <summary>
/// Publishes the public keys of every service account key file in a directory the way Google does:
/// <c>GET /robot/v1/metadata/x509/EMAIL</c> (X.509 certificate map) and
/// <c>GET /service_accounts/v1/jwk/EMAIL</c> (JWKS), over HTTP/1.1. The directory is rescanned on
/// every request, so keys added or removed are seen without a restart. <c>esp keys serve</c>, the
/// demo and tests run it in process.
/// </summary>
internal sealed partial class KeyServer : IAsyncDisposable
{
    public const string X509Path = "/robot/v1/metadata/x509/";
    public const string JwksPath = "/service_accounts/v1/jwk/";

    // Google serves both documents under both prefixes.
    private static readonly (string Prefix, bool Jwks)[] Routes =
    [
        (X509Path, false),
        ("/service_accounts/v1/metadata/x509/", false),
        (JwksPath, true),
        ("/robot/v1/metadata/jwk/", true),
    ];

    private readonly WebApplication _app;
    private readonly ListenOptions _listen;
    private readonly KeyDirectory _keys;
    private readonly ILogger _logger;

    private KeyServer(WebApplication app, ListenOptions listen, KeyDirectory keys, ILogger logger)
    {
        _app = app;
        _listen = listen;
        _keys = keys;
        _logger = logger;
    }

    /// <summary>The bound port (port 0 resolved).</summary>
    public int Port => _listen.IPEndPoint!.Port;

    /// <summary>Where the server is reached: the listen address, or loopback when it listens on every address.</summary>
    public Uri BaseAddress
    {
        get
        {
            var address = _listen.IPEndPoint!.Address;
            if (address.Equals(IPAddress.Any))
                address = IPAddress.Loopback;
            else if (address.Equals(IPAddress.IPv6Any))
                address = IPAddress.IPv6Loopback;
            return new Uri($"http://{new IPEndPoint(address, Port)}/");
        }
    }

    /// <summary>The directory served.</summary>
    public string DirectoryPath => _keys.Path;

    /// <summary>The keys published now (the directory is rescanned).</summary>
    public IEnumerable<PublishedKey> Keys => Refresh().Keys;

    /// <summary>The account's X.509 certificate map: what to give as a provider's <c>jwks_uri</c> (Google's default for service accounts).</summary>
    public Uri X509Url(string email) => new(BaseAddress, X509Path + EscapeEmail(email));

    /// <summary>The account's JWKS.</summary>
    public Uri JwksUrl(string email) => new(BaseAddress, JwksPath + EscapeEmail(email));

    /// <summary>
    /// Starts serving <paramref name="directory"/> on <paramref name="address"/>:<paramref name="port"/> (0 picks a free port).
    /// Logs to the console unless <paramref name="configureLogging"/> says otherwise. It does not take over
    /// SIGTERM/Ctrl+C: the caller stops it (<see cref="DisposeAsync"/>).
    /// </summary>
    /// <exception cref="IOException">The address cannot be bound (e.g. the port is in use).</exception>
    public static async Task<KeyServer> StartAsync(string directory, IPAddress address, int port,
        Action<ILoggingBuilder>? configureLogging = null, CancellationToken cancellationToken = default)
    {
        ListenOptions? listen = null;
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Listen(address, port, l =>
            {
                l.Protocols = HttpProtocols.Http1;
                listen = l;
            });
        });
        builder.Services.AddSingleton<IHostLifetime, CallerOwnedLifetime>();
        builder.Logging.SetMinimumLevel(LogLevel.Information);
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        // A failure to start is the caller's to report (StartAsync throws), without the host's stack trace.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting", LogLevel.None);
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        configureLogging?.Invoke(builder.Logging);

        var app = builder.Build();
        var keys = new KeyDirectory(directory);
        var server = new KeyServer(app, listen!, keys, app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Esp.Tools.KeyServer"));
        app.Run(server.HandleAsync);
        await app.StartAsync(cancellationToken);
        server.Refresh(initial: true);
        return server;
    }

    /// <summary>Completes when <paramref name="cancellationToken"/> is cancelled (e.g. by SIGTERM in <c>esp keys serve</c>).</summary>
    public Task WaitForShutdownAsync(CancellationToken cancellationToken) => _app.WaitForShutdownAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var response = context.Response;
        var path = request.Path.Value ?? "";
        foreach (var (prefix, jwks) in Routes)
        {
            if (!path.StartsWith(prefix, StringComparison.Ordinal))
                continue;
            if (!HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method))
            {
                response.Headers.Allow = "GET, HEAD";
                await WriteErrorAsync(response, StatusCodes.Status405MethodNotAllowed, "METHOD_NOT_ALLOWED", $"{request.Method} is not allowed: use GET");
                return;
            }
            // Kestrel has already percent-decoded the path (so %40 is @).
            var email = path[prefix.Length..];
            if (email.Length == 0 || email.Contains('/', StringComparison.Ordinal) || !Refresh().Accounts.TryGetValue(email, out var account))
            {
                LogUnknownAccount(_logger, Printable(email));
                await WriteErrorAsync(response, StatusCodes.Status404NotFound, "NOT_FOUND", $"No public keys for service account '{email}'.");
                return;
            }
            LogServed(_logger, jwks ? "JWKS" : "X.509 certificates", account.Email, account.Keys.Count);
            await WriteAsync(response, StatusCodes.Status200OK, jwks ? account.Jwks : account.CertificateMap, HttpMethods.IsHead(request.Method));
            return;
        }
        await WriteErrorAsync(response, StatusCodes.Status404NotFound, "NOT_FOUND",
            $"Not found. Keys are published at {X509Path}EMAIL and {JwksPath}EMAIL.");
    }

    private static Task WriteErrorAsync(HttpResponse response, int status, string code, string message) =>
        WriteAsync(response, status, PublicKeyDocuments.Error(status, code, message), headOnly: false);

    private static async Task WriteAsync(HttpResponse response, int status, byte[] body, bool headOnly)
    {
        response.StatusCode = status;
        response.ContentType = "application/json; charset=UTF-8";
        // Keys change whenever the directory does.
        response.Headers.CacheControl = "no-cache";
        response.ContentLength = body.Length;
        if (!headOnly)
            await response.Body.WriteAsync(body);
    }

    private KeySnapshot Refresh(bool initial = false)
    {
        var (snapshot, changes) = _keys.Refresh();
        foreach (var change in changes)
        {
            switch (change.Kind)
            {
                // The first scan's keys are listed by the caller (`esp keys serve` prints them with their URLs).
                case KeyDirectoryChangeKind.Published when !initial:
                    LogPublished(_logger, change.Key!.Email, change.Key.KeyId, change.File, X509Url(change.Key.Email), JwksUrl(change.Key.Email));
                    break;
                case KeyDirectoryChangeKind.Removed:
                    LogRemoved(_logger, change.Key!.Email, change.Key.KeyId, change.File);
                    break;
                case KeyDirectoryChangeKind.Ignored:
                    LogIgnored(_logger, change.Problem!);
                    break;
                case KeyDirectoryChangeKind.DirectoryMissing:
                    LogDirectoryMissing(_logger, change.File);
                    break;
            }
        }
        return snapshot;
    }

    /// <summary>A caller's text fit for one log line.</summary>
    private static string Printable(string text) =>
        string.Concat(text.Take(200).Select(c => char.IsControl(c) ? '?' : c));

    /// <summary>Emails are URL path segments as they are; only what a path cannot hold is escaped.</summary>
    private static string EscapeEmail(string email) => Uri.EscapeDataString(email).Replace("%40", "@", StringComparison.Ordinal);

    [LoggerMessage(1, LogLevel.Information, "Published {Email} key {KeyId} from {File}: {X509Url} {JwksUrl}", EventName = "KeyPublished")]
    private static partial void LogPublished(ILogger logger, string email, string keyId, string file, Uri x509Url, Uri jwksUrl);

    [LoggerMessage(2, LogLevel.Information, "No longer publishing {Email} key {KeyId} ({File} was removed or replaced)", EventName = "KeyRemoved")]
    private static partial void LogRemoved(ILogger logger, string email, string keyId, string file);

    [LoggerMessage(3, LogLevel.Warning, "Ignoring {Problem}", EventName = "FileIgnored")]
    private static partial void LogIgnored(ILogger logger, string problem);

    [LoggerMessage(4, LogLevel.Warning, "The key directory {Directory} does not exist (any more): no keys are published", EventName = "DirectoryMissing")]
    private static partial void LogDirectoryMissing(ILogger logger, string directory);

    [LoggerMessage(5, LogLevel.Information, "Served {Document} of {Email} ({Count} keys)", EventName = "Served")]
    private static partial void LogServed(ILogger logger, string document, string email, int count);

    [LoggerMessage(6, LogLevel.Information, "No keys for '{Email}': answered 404", EventName = "UnknownAccount")]
    private static partial void LogUnknownAccount(ILogger logger, string email);

    /// <summary>The host does not listen for signals: whoever started the server stops it.</summary>
    private sealed class CallerOwnedLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
