using System.CommandLine;
using System.Globalization;
using Esp.Config;
using Esp.Grpc;

namespace Esp.Cli;

/// <summary>
/// <c>esp validate DESCRIPTOR CONFIG...</c>: what <c>gcloud endpoints services deploy</c> checks. Prints the
/// service, its config id and the policy of every method; or every error and exit code 2.
/// </summary>
internal static class ValidateCommand
{
    /// <summary>The exit code when the config has errors (as <c>esp run</c>).</summary>
    public const int InvalidConfiguration = 2;

    private static readonly string[] Header = ["method", "kind", "auth", "API key", "backend", "deadline"];

    public static Command Create()
    {
        var descriptor = new Argument<string?>("descriptor")
        {
            Description = "The API's FileDescriptorSet (protoc --include_imports --descriptor_set_out=FILE your.proto).",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var configs = new Argument<string[]>("configs")
        {
            Description = "google.api.Service configs, YAML or JSON; later files override earlier ones.",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var serviceJson = new Option<string?>("--service_json_path")
        {
            Description = "A normalized service config JSON as ESPv2 takes it (lists its methods; no descriptor needed).",
        };
        var backend = new Option<string>("--backend")
        {
            Description = "The default backend: grpc://HOST:PORT or grpcs://HOST:PORT.",
            DefaultValueFactory = _ => ConfigSources.DefaultBackendAddress,
        };

        var command = new Command("validate", "Checks a service config against its descriptor and shows the policy each method gets.")
        {
            descriptor, configs, serviceJson, backend,
        };
        command.SetAction(result =>
        {
            var sources = new ConfigSources
            {
                DescriptorPath = result.GetValue(descriptor),
                ServiceConfigPaths = result.GetValue(configs) ?? [],
                ServiceJsonPath = result.GetValue(serviceJson),
                DefaultBackend = result.GetValue(backend) ?? ConfigSources.DefaultBackendAddress,
            };
            var output = result.InvocationConfiguration.Output;
            var error = result.InvocationConfiguration.Error;
            if (sources.ServiceJsonPath is null && (sources.DescriptorPath is null || sources.ServiceConfigPaths.Count == 0))
            {
                error.WriteLine("esp validate: give the descriptor set and at least one config: esp validate DESCRIPTOR CONFIG... " +
                    "(or --service_json_path FILE)");
                return InvalidConfiguration;
            }

            var loaded = ServiceConfigLoader.Load(sources);
            if (!loaded.Succeeded)
            {
                foreach (var warning in loaded.Warnings)
                    error.WriteLine($"warning: {warning}");
                foreach (var problem in loaded.Errors)
                    error.WriteLine(problem);
                error.WriteLine(loaded.Errors.Count == 1 ? "1 error" : $"{loaded.Errors.Count} errors");
                return InvalidConfiguration;
            }
            Describe(loaded.Model, loaded.Warnings, output);
            return 0;
        });
        return command;
    }

    private static void Describe(ServiceModel model, IReadOnlyList<ConfigDiagnostic> warnings, TextWriter output)
    {
        output.WriteLine(model.Title.Length > 0 ? $"service:   {model.Name} ({model.Title})" : $"service:   {model.Name}");
        output.WriteLine($"config id: {model.ConfigId}");
        output.WriteLine($"backend:   {model.DefaultBackend.Address} (default)");
        foreach (var warning in warnings)
            output.WriteLine($"warning: {warning}");
        output.WriteLine();
        WriteProviders(model, output);

        var rows = new List<string[]> { Header };
        foreach (var method in model.MethodsByPath.Values.OrderBy(m => m.Selector, StringComparer.Ordinal))
        {
            rows.Add([method.Selector, KindOf(method.Kind), AuthOf(method.Auth, model), ApiKeyOf(method), BackendOf(method.Backend),
                DeadlineOf(method.Backend.Deadline)]);
        }
        Tools.TextTable.Write(rows, output);
        output.WriteLine();
        output.WriteLine(model.MethodsByPath.Count == 1 ? "1 method" : $"{model.MethodsByPath.Count} methods");
    }

    private static string KindOf(MethodType kind) => kind switch
    {
        MethodType.Unary => "unary",
        MethodType.ClientStreaming => "client streaming",
        MethodType.ServerStreaming => "server streaming",
        MethodType.DuplexStreaming => "bidi streaming",
        _ => kind.ToString(),
    };

    /// <summary>
    /// Each accepted provider with its issuer, and the audiences a token may carry beyond the service name
    /// (the provider's and the rule's; the providers block above the table shows them all).
    /// </summary>
    private static string AuthOf(AuthPolicy? auth, ServiceModel model)
    {
        if (auth is null)
            return "none";
        var providers = auth.Requirements.Select(requirement =>
        {
            var provider = model.Providers[requirement.ProviderId];
            var audiences = provider.Audiences.Concat(requirement.Audiences).Distinct(StringComparer.Ordinal).ToList();
            return audiences.Count == 0
                ? $"{provider.Id} (iss {provider.Issuer})"
                : $"{provider.Id} (iss {provider.Issuer}; aud {string.Join(", ", audiences)})";
        });
        var text = string.Join(" or ", providers);
        return auth.AllowWithoutCredential ? text + "; allow without credential" : text;
    }

    private static void WriteProviders(ServiceModel model, TextWriter output)
    {
        if (model.Providers.Count == 0)
            return;
        output.WriteLine("providers:");
        foreach (var provider in model.Providers.Values.OrderBy(p => p.Id, StringComparer.Ordinal))
        {
            output.WriteLine($"  {provider.Id}");
            output.WriteLine($"    issuer:    {provider.Issuer}");
            output.WriteLine($"    keys:      {provider.JwksUri ?? "not given: found from the issuer (OpenID discovery)"}");
            output.WriteLine($"    audiences: {string.Join(", ", [model.Name + " (the service name)", .. provider.Audiences])}");
            if (provider.JwtLocations.Count > 0)
                output.WriteLine($"    tokens in: {string.Join(", ", provider.JwtLocations.Select(LocationOf))}");
        }
        output.WriteLine();
    }

    private static string LocationOf(JwtLocation location) => location.Kind switch
    {
        JwtLocationKind.Header when location.ValuePrefix.Length > 0 => $"header {location.Name} (prefix '{location.ValuePrefix}')",
        JwtLocationKind.Header => $"header {location.Name}",
        JwtLocationKind.Query => $"query {location.Name}",
        _ => $"cookie {location.Name}",
    };

    private static string ApiKeyOf(MethodPolicy method)
    {
        if (method.SkipServiceControl)
            return "skipped";
        if (method.AllowUnregisteredCalls)
            return "not required";
        var locations = method.ApiKeyLocations;
        if (ReferenceEquals(locations, ApiKeyLocations.Default))
            return "required";
        var places = locations.Headers.Select(h => "header " + h).Concat(locations.QueryParameters.Select(q => "query " + q));
        return $"required ({string.Join(", ", places)})";
    }

    private static string BackendOf(BackendRoute route)
    {
        if (route.JwtAudience is not null)
            return $"{route.Address} (jwt_audience {route.JwtAudience})";
        return route.DisableAuth ? $"{route.Address} (disable_auth)" : route.Address;
    }

    private static string DeadlineOf(TimeSpan? deadline) =>
        deadline is { } value ? value.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + " s" : "-";
}
