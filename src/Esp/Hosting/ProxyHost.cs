using System.Net;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Esp.ApiKeys;
using Esp.Auth;
using Esp.Config;
using Esp.Forwarding;
using Microsoft.AspNetCore.Builder;
using Esp.Grpc.Http2.Server;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Esp.Auth.ServiceAccounts;

namespace Esp.Hosting;

/// <summary>
/// The running proxy: its listeners (h2c: our HTTP/2 server; TLS and HTTP/1.1: Kestrel) in front of the request handler.
/// <c>esp run</c> and the functional tests start it the same way.
/// </summary>
internal sealed partial class ProxyHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly BackendClients _backends;
    private readonly List<(string Name, Func<int> Port)> _listeners;
    private readonly Http2Server? _http2;
    private readonly TimeSpan _gracePeriod;

    private readonly HttpMessageInvoker _keyClient;

    private ProxyHost(WebApplication app, Http2Server? http2, TimeSpan gracePeriod, BackendClients backends, List<(string Name, Func<int> Port)> listeners,
        JwtAuthenticator authenticator, HttpMessageInvoker keyClient, ReloadingApiKeyStore? apiKeys)
    {
        _app = app;
        _http2 = http2;
        _gracePeriod = gracePeriod;
        _backends = backends;
        _listeners = listeners;
        Authenticator = authenticator;
        _keyClient = keyClient;
        ApiKeys = apiKeys;
    }

    /// <summary>The JWT checks, with their key sources and token cache (tests look inside).</summary>
    internal JwtAuthenticator Authenticator { get; }

    /// <summary>The key store of <c>--api_keys</c>, when given (tests wait for its reloads).</summary>
    internal ReloadingApiKeyStore? ApiKeys { get; }

    /// <summary>The bound port of each listener (<c>http2</c>, <c>ssl</c>, <c>http</c>), port 0 resolved.</summary>
    public IReadOnlyDictionary<string, int> Ports =>
        _listeners.ToDictionary(l => l.Name, l => l.Port());

    /// <summary>The line <c>esp run</c> prints once it accepts calls: <c>listening: http2=PORT ssl=PORT http=PORT</c>.</summary>
    public string ListeningLine => "listening: " + string.Join(' ', _listeners.Select(l => $"{l.Name}={l.Port()}"));

    public IServiceProvider Services => _app.Services;

    public static async Task<ProxyHost> StartAsync(ProxyOptions options, ServiceModel model, Action<ILoggingBuilder>? configureLogging = null, TimeProvider? time = null)
    {
        var certificate = options.SslPort is null ? null : LoadServerCertificate(options.SslServerCertPath!);
        var listeners = new List<(string Name, Func<int> Port)>();
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        // The h2c listener is our own HTTP/2 server (Http2Server); Kestrel serves TLS and HTTP/1.1.
        if (options.SslPort is null && options.HttpPort is null)
            builder.Services.AddSingleton<IServer, NoListeners>();
        else builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = null;
            if (options.SslPort is { } ssl)
            {
                kestrel.Listen(options.ListenerAddress, ssl, l =>
                {
                    Add(l, "ssl", HttpProtocols.Http1AndHttp2);
                    l.UseHttps(https =>
                    {
                        https.ServerCertificate = certificate;
                        https.SslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13;
                    });
                });
            }
            if (options.HttpPort is { } http)
                kestrel.Listen(options.ListenerAddress, http, l => Add(l, "http", HttpProtocols.Http1));
        });
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = options.ShutdownGracePeriod);
        ConfigureLogging(builder.Logging, options);
        configureLogging?.Invoke(builder.Logging);

        var backendRoots = options.BackendRootCertsPath is null ? null : LoadRoots(options.BackendRootCertsPath);
        var backends = new BackendClients(backendRoots);
        builder.Services.AddSingleton(backends);
        builder.Services.AddSingleton(time ?? TimeProvider.System);
        if (options.ServiceAccountKey is { } identity)
            builder.Services.AddSingleton(new BackendIdTokens(identity, time ?? TimeProvider.System));
        builder.Services.AddSingleton(new ForwardingLimits(options.RequestMessageTimeout));
        builder.Services.AddSingleton<GrpcForwarder>();

        var app = builder.Build();
        var loggers = app.Services.GetRequiredService<ILoggerFactory>();
        var logger = loggers.CreateLogger("Esp.Proxy");
        LogServing(logger, model.Name, model.ConfigId, model.MethodsByPath.Count, model.DefaultBackend.Address);
        var keyClient = new HttpMessageInvoker(new SocketsHttpHandler { AllowAutoRedirect = false, ConnectTimeout = options.Auth.KeyFetchTimeout });
        var authenticator = new JwtAuthenticator(model, options.Auth, keyClient, time ?? TimeProvider.System, loggers.CreateLogger("Esp.Auth"));
        var keysLogger = loggers.CreateLogger("Esp.ApiKeys");
        var apiKeys = options.ApiKeys is { } store ? new ReloadingApiKeyStore(store.Path, store.Initial, time ?? TimeProvider.System, keysLogger) : null;
        var checker = new ApiKeyChecker(apiKeys, model.Name, time ?? TimeProvider.System, keysLogger);
        var handler = new ProxyRequestHandler(model, authenticator, checker, app.Services.GetRequiredService<GrpcForwarder>(), options.HealthzPath, loggers.CreateLogger("Esp.Auth"));
        app.Run(handler.HandleAsync);
        Http2Server? http2Server = null;
        if (options.Http2Port is { } http2Port)
        {
            http2Server = Http2Server.Start(new IPEndPoint(options.ListenerAddress, http2Port), handler.HandleAsync, new Http2ServerOptions(),
                loggers.CreateLogger("Esp.Http2"));
            listeners.Insert(0, ("http2", () => http2Server.LocalEndPoint.Port));
        }
        try
        {
            await app.StartAsync();
        }
        catch (Exception)
        {
            if (http2Server is not null)
                await http2Server.DisposeAsync();
            throw;
        }

        authenticator.Prefetch();
        if (apiKeys is null)
            WarnAboutClosedMethods(logger, model);
        else
            WarnAboutUnmatchedKeySelectors(keysLogger, model, apiKeys.Current);
        return new ProxyHost(app, http2Server, options.ShutdownGracePeriod, backends, listeners, authenticator, keyClient, apiKeys);

        void Add(ListenOptions listen, string name, HttpProtocols protocols)
        {
            listen.Protocols = protocols;
            listeners.Add((name, () => listen.IPEndPoint!.Port));
        }
    }

    /// <summary>Waits for SIGTERM/SIGINT, then stops accepting and lets calls in flight finish (bounded by the grace period).</summary>
    public Task WaitForShutdownAsync() => _app.WaitForShutdownAsync();

    public async ValueTask DisposeAsync()
    {
        if (_http2 is not null)
        {
            using var grace = new CancellationTokenSource(_gracePeriod);
            await _http2.StopAsync(grace.Token);
        }
        await _app.StopAsync();
        await _app.DisposeAsync();
        await _backends.DisposeAsync();
        Authenticator.Dispose();
        _keyClient.Dispose();
        ApiKeys?.Dispose();
    }

    /// <summary>The server when Kestrel has no listener to run: the host still starts (lifetime, signals), nothing binds.</summary>
    private sealed class NoListeners : IServer
    {
        public IFeatureCollection Features { get; } = new FeatureCollection();

        public Task StartAsync<TContext>(IHttpApplication<TContext> application, CancellationToken cancellationToken)
            where TContext : notnull => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public void Dispose()
        {
        }
    }

    private static void ConfigureLogging(ILoggingBuilder logging, ProxyOptions options)
    {
        logging.SetMinimumLevel(LogLevel.Information);
        logging.AddFilter("Microsoft", LogLevel.Warning);
        logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Information);
        // While this category is enabled at any level, ASP.NET Core hosting starts an Activity and a
        // log scope for every request; all it logs per request is start/finish (Information),
        // which the access log covers. Kestrel's own category still reports application errors.
        logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None);
        if (!options.AccessLog)
            logging.AddFilter(GrpcForwarder.AccessLogCategory, LogLevel.None);
        if (options.LogFormat == LogFormat.Json)
            logging.AddJsonConsole(o => o.UseUtcTimestamp = true);
        else
            logging.AddSimpleConsole(o => o.SingleLine = true);
    }

    internal static X509Certificate2 LoadServerCertificate(string directory) =>
        X509Certificate2.CreateFromPemFile(Path.Combine(directory, "server.crt"), Path.Combine(directory, "server.key"));

    internal static X509Certificate2Collection LoadRoots(string path)
    {
        var roots = new X509Certificate2Collection();
        roots.ImportFromPemFile(path);
        return roots;
    }

    private static void WarnAboutClosedMethods(ILogger logger, ServiceModel model)
    {
        var keyed = model.MethodsByPath.Values.Where(ApiKeyChecker.NeedsApiKey).Select(m => m.Selector).Order(StringComparer.Ordinal).ToList();
        if (keyed.Count > 0)
            LogApiKeyMethodsClosed(logger, keyed.Count, string.Join(", ", keyed));
    }

    /// <summary>A key restricted to methods this service does not have is a typo (or a key for another service).</summary>
    private static void WarnAboutUnmatchedKeySelectors(ILogger logger, ServiceModel model, ApiKeyStore store)
    {
        foreach (var key in store.Keys.Where(k => k.Selectors.Count > 0))
        {
            var unmatched = key.Selectors.Where(pattern => !model.MethodsByPath.Values.Any(m => Config.Selector.PatternMatches(pattern, m.Selector))).ToList();
            if (unmatched.Count > 0)
                LogKeySelectorsUnmatched(logger, key.Id, key.Consumer, string.Join(", ", unmatched), model.Name);
        }
    }

    [LoggerMessage(3, LogLevel.Warning, "{Count} methods require an API key and no key store is configured, so their calls are refused: {Methods}. " +
        "Create a store with `esp apikeys create --store keys.yaml --consumer NAME` and start with --api_keys=keys.yaml, " +
        "or open a method with `allow_unregistered_calls: true` in usage.rules", EventName = "ApiKeyMethodsClosed")]
    private static partial void LogApiKeyMethodsClosed(ILogger logger, int count, string methods);

    [LoggerMessage(4, LogLevel.Warning, "API key {KeyId} of consumer {Consumer} is restricted to {Selectors}, which match no method of {Service}", EventName = "ApiKeySelectorsUnmatched")]
    private static partial void LogKeySelectorsUnmatched(ILogger logger, string keyId, string consumer, string selectors, string service);

    [LoggerMessage(1, LogLevel.Information, "Serving {Service} (config {ConfigId}): {MethodCount} methods, default backend {Backend}", EventName = "Serving")]
    private static partial void LogServing(ILogger logger, string service, string configId, int methodCount, string backend);
}
