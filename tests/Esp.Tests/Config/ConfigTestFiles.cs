using System.Globalization;
using System.Text;
using Esp.Config;
using Esp.Tests.Infrastructure;
using Xunit;

namespace Esp.Tests.Config;

/// <summary>Config files written to a temporary directory for one test, and loading them.</summary>
internal sealed class ConfigTestFiles : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("esp-config-").FullName;

    /// <summary>shelf.Books (Get, Upload, Watch, Chat: one of each kind) and shelf.BooksAdmin (Get, Purge).</summary>
    public static string SelectorsDescriptor =>
        ProtocDescriptors.For(Path.Combine(RepositoryPaths.Root, "tests", "Esp.Tests", "Config", "TestData"), "selectors.proto");

    public static string Sample(string name) => Path.Combine(RepositoryPaths.Samples, "Bookstore", name);

    /// <summary>Writes a file; returns its path.</summary>
    public string Write(string name, string content)
    {
        var path = Path.Combine(_directory, name);
        File.WriteAllText(path, content, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        return path;
    }

    public static ConfigLoadResult Load(string descriptor, params string[] configs) =>
        ServiceConfigLoader.Load(new ConfigSources { DescriptorPath = descriptor, ServiceConfigPaths = configs });

    /// <summary>Loads the YAML (written as api_config.yaml) against the Bookstore descriptor.</summary>
    public (ConfigLoadResult Result, string Path) LoadBookstore(string yaml)
    {
        var path = Write("api_config.yaml", yaml);
        return (Load(ProtocDescriptors.Bookstore, path), path);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    /// <summary>Asserts that loading failed with exactly this one error.</summary>
    public static void AssertSingleError(ConfigLoadResult result, string file, int line, string messagePart)
    {
        Assert.Null(result.Model);
        var error = Assert.Single(result.Errors);
        Assert.Equal(file, error.File);
        Assert.Equal(line, error.Line);
        Assert.Contains(messagePart, error.Message, StringComparison.Ordinal);
    }

    public static ServiceModel AssertLoaded(ConfigLoadResult result)
    {
        Assert.True(result.Succeeded, string.Join("\n", result.Errors));
        return result.Model;
    }

    /// <summary>
    /// The model as text, everything but the config id, in a stable order: two models with the same text
    /// behave the same (the records hold lists, which compare by reference).
    /// </summary>
    public static string Describe(ServiceModel model)
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"name={model.Name} title={model.Title} default={Route(model.DefaultBackend)}");
        foreach (var provider in model.Providers.Values.OrderBy(p => p.Id, StringComparer.Ordinal))
        {
            text.AppendLine(CultureInfo.InvariantCulture,
                $"provider {provider.Id} iss={provider.Issuer} jwks={provider.JwksUri} aud=[{string.Join("|", provider.Audiences)}] " +
                $"auth_url={provider.AuthorizationUrl} locations=[{string.Join("|", provider.JwtLocations)}]");
        }
        foreach (var method in model.MethodsByPath.Values.OrderBy(m => m.Path, StringComparer.Ordinal))
        {
            var auth = method.Auth is null
                ? "none"
                : string.Join("|", method.Auth.Requirements.Select(r => $"{r.ProviderId}:{string.Join(",", r.Audiences)}")) +
                  (method.Auth.AllowWithoutCredential ? " allow_without_credential" : "");
            text.AppendLine(CultureInfo.InvariantCulture,
                $"{method.Path} {method.Selector} {method.Kind} auth={auth} unregistered={method.AllowUnregisteredCalls} " +
                $"skip={method.SkipServiceControl} keys=[{string.Join("|", method.ApiKeyLocations.Headers)};{string.Join("|", method.ApiKeyLocations.QueryParameters)}] " +
                $"backend={Route(method.Backend)}");
        }
        return text.ToString();
    }

    private static string Route(BackendRoute route) =>
        $"{route.Address}>{route.BaseUri} deadline={route.Deadline} jwt_audience={route.JwtAudience} disable_auth={route.DisableAuth}";
}
