using System.Net;
using Esp.Config;
using Esp.Hosting;
using Esp.Tests.Infrastructure;
using Microsoft.Extensions.Logging;

namespace Esp.Tests.Functional;

/// <summary>The proxy in process, on loopback port 0, configured from YAML text and a protoc descriptor set.</summary>
internal sealed class TestProxy : IAsyncDisposable
{
    private readonly ProxyHost _host;
    private readonly string _directory;

    private TestProxy(ProxyHost host, string directory)
    {
        _host = host;
        _directory = directory;
    }

    public int Port => _host.Ports["http2"];

    public IReadOnlyDictionary<string, int> Ports => _host.Ports;

    public Uri Address => new($"http://127.0.0.1:{Port}");

    /// <summary>The key store of <see cref="ProxyOptions.ApiKeys"/>, when given.</summary>
    internal Esp.ApiKeys.ReloadingApiKeyStore? ApiKeys => _host.ApiKeys;

    public string Target => $"127.0.0.1:{Port}";

    public static async Task<TestProxy> StartAsync(string serviceConfigYaml, string descriptorPath, string backend,
        Func<ProxyOptions, ProxyOptions>? configure = null, TimeProvider? time = null, ILoggerProvider? log = null)
    {
        var directory = Directory.CreateTempSubdirectory("esp-proxy-").FullName;
        var configPath = Path.Combine(directory, "api_config.yaml");
        await File.WriteAllTextAsync(configPath, serviceConfigYaml);
        var loaded = ServiceConfigLoader.Load(new ConfigSources
        {
            ServiceConfigPaths = [configPath],
            DescriptorPath = descriptorPath,
            DefaultBackend = backend,
        });
        if (!loaded.Succeeded)
            throw new InvalidOperationException("Test config is invalid:\n" + string.Join("\n", loaded.Errors));
        var options = new ProxyOptions { Http2Port = 0, ListenerAddress = IPAddress.Loopback, Backend = backend };
        options = configure?.Invoke(options) ?? options;
        var host = await ProxyHost.StartAsync(options, loaded.Model, logging =>
        {
            logging.ClearProviders();
            if (log is not null)
                logging.AddProvider(log);
        }, time).DefaultTimeout();
        return new TestProxy(host, directory);
    }

    public async ValueTask DisposeAsync()
    {
        await _host.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }
}
