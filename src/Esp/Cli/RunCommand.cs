using System.CommandLine;
using System.Globalization;
using System.Net;
using Esp.ApiKeys;
using Esp.Auth;
using Esp.Auth.Keys;
using Esp.Config;
using Esp.Hosting;
using Esp.Auth.ServiceAccounts;

namespace Esp.Cli;

/// <summary><c>esp run</c>: the proxy. Flags keep ESP's names; both <c>--flag=value</c> and <c>--flag value</c> work.</summary>
internal static class RunCommand
{
    /// <summary>The exit code for a configuration that cannot be served.</summary>
    public const int InvalidConfiguration = 2;

    public static Command Create()
    {
        var serviceConfig = new Option<string[]>("--service_config") { Description = "A google.api.Service config, YAML or JSON. Repeat it: later files override earlier ones." };
        var descriptor = new Option<string?>("--descriptor") { Description = "The API's FileDescriptorSet (protoc --include_imports --descriptor_set_out=api_descriptor.pb ...)." };
        var serviceJson = new Option<string?>("--service_json_path") { Description = "A normalized service config JSON as ESPv2 takes it (lists its methods; no --descriptor needed)." };
        var backend = new Option<string>("--backend") { Description = "The default backend: grpc://HOST:PORT or grpcs://HOST:PORT.", DefaultValueFactory = _ => ConfigSources.DefaultBackendAddress };
        var backendRoots = new Option<string?>("--ssl_backend_client_root_certs_file", "--grpc_backend_ssl_root_certs_file") { Description = "PEM roots to trust for grpcs:// backends instead of the system's." };
        var http2Port = new Option<int?>("--http2_port") { Description = "Cleartext HTTP/2 (gRPC) port; 0 picks a free one. Default 8080 when no port is given." };
        var httpPort = new Option<int?>("--http_port") { Description = "HTTP/1.1 port (health checks; gRPC callers are told to use HTTP/2)." };
        var sslPort = new Option<int?>("--ssl_port") { Description = "TLS port (HTTP/2 and HTTP/1.1 by ALPN); needs --ssl_server_cert_path." };
        var sslCertPath = new Option<string?>("--ssl_server_cert_path") { Description = "Directory holding server.crt and server.key (PEM) for --ssl_port." };
        var listenerAddress = new Option<string>("--listener_address") { Description = "Address the listeners bind.", DefaultValueFactory = _ => "0.0.0.0" };
        var healthz = new Option<string?>("--healthz") { Description = "Answer 200 on this path, on every listener (e.g. --healthz=healthz)." };
        var accessLog = new Option<string>("--access_log") { Description = "One log line per call (method, status, duration, bytes; never credentials): on or off.", DefaultValueFactory = _ => "on" };
        accessLog.AcceptOnlyFromAmong("on", "off");
        var logFormat = new Option<string>("--log_format") { Description = "text or json.", DefaultValueFactory = _ => "text" };
        logFormat.AcceptOnlyFromAmong("text", "json");
        var jwksCache = new Option<int>("--jwks_cache_duration_in_s") { Description = "How long fetched JWT keys stay fresh (they are refreshed in the background before).", DefaultValueFactory = _ => 300 };
        var jwtCache = new Option<int>("--jwt_cache_size") { Description = "Verified tokens to keep (LRU); 0 turns the cache off.", DefaultValueFactory = _ => 1000 };
        var fetchTimeout = new Option<double>("--http_request_timeout_s") { Description = "Timeout of every key fetch (JWKS, OpenID discovery).", DefaultValueFactory = _ => 5 };
        var userInfoFormat = new Option<string>("--user_info_format") { Description = "X-Endpoint-API-UserInfo as esp (the documented JSON, claims an object), esp-legacy (claims a string, as the ESPv1 binary) or espv2 (the token's payload).", DefaultValueFactory = _ => "esp" };
        userInfoFormat.AcceptOnlyFromAmong("esp", "esp-legacy", "espv2");
        var noServiceNameAudience = new Option<bool>("--disable_jwt_audience_service_name_check") { Description = "Do not accept the service name as a JWT audience; only configured audiences." };
        var serviceAccountKey = new Option<string?>("--service_account_key") { Description = "The proxy's own service account key (Google's JSON format): it signs ID tokens for backend rules with a jwt_audience." };
        var apiKeys = new Option<string?>("--api_keys") { Description = "The API key store (YAML; esp apikeys create makes it). Reloaded when it changes. Without it, methods that need a key refuse every call." };
        var grace = new Option<double>("--shutdown_grace_period_s") { Description = "On SIGTERM, how long calls in flight may take to finish.", DefaultValueFactory = _ => 20 };

        var command = new Command("run", "Runs the proxy: every call is routed by the service config and forwarded to its backend.")
        {
            serviceConfig, descriptor, serviceJson, backend, backendRoots, http2Port, httpPort, sslPort, sslCertPath,
            listenerAddress, healthz, accessLog, logFormat, jwksCache, jwtCache, fetchTimeout, userInfoFormat, noServiceNameAudience, serviceAccountKey, apiKeys, grace,
        };
        command.SetAction(async (result, cancellationToken) =>
        {
            var problems = new List<string>();
            if (!IPAddress.TryParse(result.GetValue(listenerAddress), out var address))
                problems.Add($"--listener_address: '{result.GetValue(listenerAddress)}' is not an IP address.");
            var ssl = result.GetValue(sslPort);
            var certPath = result.GetValue(sslCertPath);
            if (ssl is not null && certPath is null)
                problems.Add("--ssl_port needs --ssl_server_cert_path (a directory with server.crt and server.key).");
            if (ssl is not null && certPath is not null)
                problems.AddRange(CheckServerCertificate(certPath));
            if (result.GetValue(jwksCache) <= 0)
                problems.Add("--jwks_cache_duration_in_s must be positive.");
            if (result.GetValue(jwtCache) < 0)
                problems.Add("--jwt_cache_size must be 0 (off) or positive.");
            if (result.GetValue(fetchTimeout) <= 0)
                problems.Add("--http_request_timeout_s must be positive.");
            var roots = result.GetValue(backendRoots);
            if (roots is not null && !File.Exists(roots))
                problems.Add($"--ssl_backend_client_root_certs_file: {roots} does not exist.");

            var loaded = ServiceConfigLoader.Load(new ConfigSources
            {
                ServiceConfigPaths = result.GetValue(serviceConfig) ?? [],
                DescriptorPath = result.GetValue(descriptor),
                ServiceJsonPath = result.GetValue(serviceJson),
                DefaultBackend = result.GetValue(backend)!,
            });
            ServiceAccountKey? identity = null;
            if (result.GetValue(serviceAccountKey) is { } keyPath)
            {
                identity = ServiceAccountKey.Load(keyPath, out var keyProblem);
                if (identity is null)
                    problems.Add($"--service_account_key: {keyProblem}");
            }
            ApiKeyStoreOptions? keyStore = null;
            if (result.GetValue(apiKeys) is { } storePath)
            {
                var read = ApiKeyStoreFile.Read(storePath);
                if (read.Store is null)
                    problems.AddRange(read.Errors.Select(e => $"--api_keys: {e}"));
                else
                    keyStore = new ApiKeyStoreOptions(storePath, read);
            }
            if (loaded.Model is { } model && identity is null && result.GetValue(serviceAccountKey) is null)
                problems.AddRange(MethodsNeedingIdentity(model));
            foreach (var warning in loaded.Warnings)
                await Console.Error.WriteLineAsync($"warning: {warning}");
            problems.AddRange(loaded.Errors.Select(e => e.ToString()));
            if (problems.Count > 0 || !loaded.Succeeded)
            {
                await Console.Error.WriteLineAsync($"esp: cannot start: {problems.Count} configuration error{(problems.Count == 1 ? "" : "s")}:");
                foreach (var problem in problems)
                    await Console.Error.WriteLineAsync("  " + problem);
                return InvalidConfiguration;
            }

            var http2 = result.GetValue(http2Port);
            var http = result.GetValue(httpPort);
            var options = new ProxyOptions
            {
                ServiceConfigPaths = result.GetValue(serviceConfig) ?? [],
                DescriptorPath = result.GetValue(descriptor),
                ServiceJsonPath = result.GetValue(serviceJson),
                Backend = result.GetValue(backend)!,
                BackendRootCertsPath = roots,
                Http2Port = http2 ?? (http is null && ssl is null ? 8080 : null),
                HttpPort = http,
                SslPort = ssl,
                SslServerCertPath = certPath,
                ListenerAddress = address!,
                HealthzPath = result.GetValue(healthz),
                AccessLog = result.GetValue(accessLog) == "on",
                LogFormat = result.GetValue(logFormat) == "json" ? LogFormat.Json : LogFormat.Text,
                ShutdownGracePeriod = TimeSpan.FromSeconds(result.GetValue(grace)),
                ServiceAccountKey = identity,
                ApiKeys = keyStore,
                Auth = new AuthOptions
                {
                    JwtCacheSize = result.GetValue(jwtCache),
                    KeyFetchTimeout = TimeSpan.FromSeconds(result.GetValue(fetchTimeout)),
                    DisableServiceNameAudience = result.GetValue(noServiceNameAudience),
                    UserInfoFormat = result.GetValue(userInfoFormat) switch
                    {
                        "esp-legacy" => UserInfoFormat.EspLegacy,
                        "espv2" => UserInfoFormat.EspV2,
                        _ => UserInfoFormat.Esp,
                    },
                    Keys = new KeyCacheOptions { CacheDuration = TimeSpan.FromSeconds(result.GetValue(jwksCache)) },
                },
            };
            await using var proxy = await ProxyHost.StartAsync(options, loaded.Model);
            Console.WriteLine(proxy.ListeningLine);
            await proxy.WaitForShutdownAsync();
            return 0;
        });
        return command;
    }

    /// <summary>Backend rules with a jwt_audience need the proxy's key to sign their ID tokens.</summary>
    private static IEnumerable<string> MethodsNeedingIdentity(ServiceModel model)
    {
        var audiences = model.MethodsByPath.Values
            .Where(m => m.Backend is { JwtAudience: not null, DisableAuth: false })
            .GroupBy(m => m.Backend.JwtAudience!, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal);
        foreach (var audience in audiences)
        {
            yield return $"backend rules give {string.Join(", ", audience.Select(m => m.Selector).Order(StringComparer.Ordinal))} the jwt_audience " +
                $"'{audience.Key}', so the proxy must sign ID tokens: pass --service_account_key=KEY.json (esp keys create makes one).";
        }
    }

    private static IEnumerable<string> CheckServerCertificate(string directory)
    {
        foreach (var file in new[] { "server.crt", "server.key" })
        {
            if (!File.Exists(Path.Combine(directory, file)))
            {
                yield return $"--ssl_server_cert_path: {Path.Combine(directory, file)} does not exist.";
                yield break;
            }
        }
        string? problem = null;
        try
        {
            using var _ = ProxyHost.LoadServerCertificate(directory);
        }
        catch (System.Security.Cryptography.CryptographicException ex)
        {
            problem = string.Create(CultureInfo.InvariantCulture, $"--ssl_server_cert_path: server.crt and server.key in {directory} are not a usable PEM certificate and key: {ex.Message}");
        }
        if (problem is not null)
            yield return problem;
    }
}
