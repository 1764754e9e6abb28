using System.Collections.Frozen;

namespace Esp.Config;

/// <summary>
/// Turns a valid merged config and its methods into the <see cref="ServiceModel"/>: for each method and each
/// section, the last rule whose selector matches applies ("last one wins", auth.proto); a method no rule
/// matches gets the section's default.
/// </summary>
internal static class ServiceModelCompiler
{
    public static ServiceModel Compile(ServiceConfigDocument config, IReadOnlyList<ResolvedMethod> methods,
        BackendAddress defaultBackend, string configId)
    {
        var defaultRoute = new BackendRoute { Address = defaultBackend.Address, BaseUri = defaultBackend.BaseUri };
        var policies = new Dictionary<string, MethodPolicy>(StringComparer.Ordinal);
        foreach (var method in methods)
        {
            var selector = method.Selector;
            var auth = LastMatch(config.AuthRules, selector);
            var usage = LastMatch(config.UsageRules, selector);
            var apiKey = LastMatch(config.ApiKeyRules, selector);
            var backend = LastMatch(config.BackendRules, selector);

            policies.TryAdd(method.Path, new MethodPolicy
            {
                Selector = selector,
                Path = method.Path,
                Kind = method.Method.Kind,
                Auth = auth is { Requirements.Count: > 0 }
                    ? new AuthPolicy([.. auth.Requirements.Select(r => r.Value)], auth.AllowWithoutCredential)
                    : null,
                AllowUnregisteredCalls = usage?.AllowUnregisteredCalls ?? false,
                SkipServiceControl = usage?.SkipServiceControl ?? false,
                ApiKeyLocations = apiKey?.Locations ?? ApiKeyLocations.Default,
                Backend = backend is null ? defaultRoute : RouteOf(backend, defaultBackend),
            });
        }

        return new ServiceModel
        {
            Name = config.Name!.Value.Value,
            Title = config.Title ?? "",
            ConfigId = configId,
            MethodsByPath = policies.ToFrozenDictionary(StringComparer.Ordinal),
            Providers = config.Providers.ToFrozenDictionary(p => p.Provider.Id, p => p.Provider, StringComparer.Ordinal),
            DefaultBackend = defaultRoute,
        };
    }

    private static T? LastMatch<T>(IReadOnlyList<T> rules, string selector)
        where T : class, IRuleConfig
    {
        for (var i = rules.Count - 1; i >= 0; i--)
        {
            if (rules[i].Selector.Matches(selector))
                return rules[i];
        }
        return null;
    }

    /// <summary>A rule without an address keeps the default backend and adds its deadline or auth settings.</summary>
    private static BackendRoute RouteOf(BackendRuleConfig rule, BackendAddress defaultBackend)
    {
        var address = rule.Address ?? defaultBackend;
        return new BackendRoute
        {
            Address = address.Address,
            BaseUri = address.BaseUri,
            Deadline = rule.Deadline,
            JwtAudience = rule.JwtAudience,
            DisableAuth = rule.DisableAuth,
        };
    }
}
