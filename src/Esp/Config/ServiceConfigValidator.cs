namespace Esp.Config;

/// <summary>
/// Checks a merged config as a whole: the things no single field can tell. Every problem is reported;
/// nothing stops at the first (style-anchors §6.5).
/// </summary>
internal static class ServiceConfigValidator
{
    public static void Validate(ServiceConfigDocument config, ResolvedApis? apis, ConfigDiagnostics diagnostics)
    {
        if (config.Name is null)
            diagnostics.Error(SourcePosition.WholeFile(config.File), "name is missing: give the service name (e.g. bookstore.endpoints.PROJECT.cloud.goog)");

        CheckIssuers(config, diagnostics);
        CheckRequirements(config, diagnostics);
        if (apis is not null)
            CheckSelectors(config, apis, diagnostics);
    }

    /// <summary>A token's <c>iss</c> picks its provider, so two providers cannot share an issuer.</summary>
    private static void CheckIssuers(ServiceConfigDocument config, ConfigDiagnostics diagnostics)
    {
        var byIssuer = new Dictionary<string, ProviderConfig>(StringComparer.Ordinal);
        foreach (var provider in config.Providers.Where(p => p.Provider.Issuer.Length > 0))
        {
            var issuer = Issuers.Normalize(provider.Provider.Issuer);
            if (byIssuer.TryGetValue(issuer, out var first))
            {
                diagnostics.Error(provider.IssuerAt,
                    $"providers '{first.Provider.Id}' ({ApiMethods.Format(first.IssuerAt)}) and '{provider.Provider.Id}' have the same issuer " +
                    $"'{issuer}' (compared without http(s):// and a trailing '/'); merge them into one provider");
                continue;
            }
            byIssuer.Add(issuer, provider);
        }
    }

    private static void CheckRequirements(ServiceConfigDocument config, ConfigDiagnostics diagnostics)
    {
        var ids = config.Providers.Select(p => p.Provider.Id).ToHashSet(StringComparer.Ordinal);
        foreach (var rule in config.AuthRules)
        {
            foreach (var requirement in rule.Requirements)
            {
                if (!ids.Contains(requirement.Value.ProviderId))
                {
                    diagnostics.Error(requirement.At, $"provider_id '{requirement.Value.ProviderId}' names no provider; " +
                        (ids.Count == 0 ? "authentication.providers defines none" : $"defined: {string.Join(", ", ids)}"));
                }
            }
        }
    }

    /// <summary>Every pattern of every selector must match a method: a typo must not silently leave a method open.</summary>
    private static void CheckSelectors(ServiceConfigDocument config, ResolvedApis apis, ConfigDiagnostics diagnostics)
    {
        var methods = apis.Methods;
        var rules = new (string Section, IEnumerable<IRuleConfig> Rules)[]
        {
            ("authentication.rules", config.AuthRules),
            ("usage.rules", config.UsageRules),
            ("system_parameters.rules", config.ApiKeyRules),
            ("backend.rules", config.BackendRules),
        };
        var services = methods.Select(m => m.Service).Concat(apis.Unresolved).ToHashSet(StringComparer.Ordinal);
        foreach (var (section, sectionRules) in rules)
        {
            foreach (var rule in sectionRules)
            {
                foreach (var pattern in rule.Selector.Patterns)
                {
                    if (methods.Any(m => Selector.PatternMatches(pattern, m.Selector)) || apis.MayCover(pattern))
                        continue;
                    var hint = services.Contains(pattern)
                        ? $"; '{pattern}' is a service: write '{pattern}.*' for all its methods"
                        : $"; the apis are {string.Join(", ", services)}";
                    diagnostics.Error(rule.Selector.At, $"selector '{pattern}' in {section} matches no method{hint}");
                }
            }
        }
    }
}
