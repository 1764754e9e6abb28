namespace Esp.Config;

/// <summary>Reads <c>authentication:</c> (google/api/auth.proto): providers, their token locations, and rules.</summary>
internal static class AuthenticationReader
{
    private static readonly FieldNames Section = new(["providers", "rules"]);
    private static readonly FieldNames Provider = new(["id", "issuer", "jwks_uri", "audiences", "authorization_url", "jwt_locations"]);
    private static readonly FieldNames Location = new(["header", "query", "cookie", "value_prefix"]);
    // OAuthRequirements: neither ESPv1 nor ESPv2 reads it (reference/esp-behaviour.md §1.2).
    private static readonly FieldNames Rule = new(["selector", "requirements", "allow_without_credential"], ["oauth"]);
    private static readonly FieldNames Requirement = new(["provider_id", "audiences"]);

    public static (IReadOnlyList<ProviderConfig> Providers, IReadOnlyList<AuthRuleConfig> Rules) Read(FieldReader root)
    {
        var section = root.Map("authentication", Section);
        if (section is null)
            return ([], []);
        return (ReadProviders(section), ReadRules(section));
    }

    private static List<ProviderConfig> ReadProviders(FieldReader section)
    {
        var providers = new List<ProviderConfig>();
        var idsSeen = new Dictionary<string, SourcePosition>(StringComparer.Ordinal);
        foreach (var provider in section.Maps("providers", Provider))
        {
            var id = provider.String("id")?.Trim();
            var issuer = provider.String("issuer")?.Trim();
            if (string.IsNullOrEmpty(id) && !provider.IsInvalid("id"))
                provider.Error("id", $"{provider.Context} has no id: give it one, for rules to name in requirements[].provider_id");
            if (string.IsNullOrEmpty(issuer) && !provider.IsInvalid("issuer"))
                provider.Error("issuer", $"{provider.Context} has no issuer: give the 'iss' its tokens carry");
            var jwksUri = provider.String("jwks_uri")?.Trim();
            if (!string.IsNullOrEmpty(jwksUri) && !IsKeyUri(jwksUri))
                provider.Error("jwks_uri", $"{provider.Context}.jwks_uri '{jwksUri}' is not an absolute https://, http:// or file:// URL");
            var audiences = SplitAudiences(provider.String("audiences"));
            var authorizationUrl = provider.String("authorization_url")?.Trim();
            var locations = ReadLocations(provider);

            // Kept without an issuer (reported): rules that name it should not also be reported.
            if (string.IsNullOrEmpty(id))
                continue;
            if (!idsSeen.TryAdd(id, provider.PositionOf("id")))
            {
                provider.Error("id", $"provider id '{id}' is used twice in this file (first on line {idsSeen[id].Line}); give each provider its own id");
                continue;
            }
            providers.Add(new ProviderConfig(provider.Position, new AuthProvider
            {
                Id = id,
                Issuer = issuer ?? "",
                JwksUri = string.IsNullOrEmpty(jwksUri) ? null : jwksUri,
                Audiences = audiences,
                AuthorizationUrl = string.IsNullOrEmpty(authorizationUrl) ? null : authorizationUrl,
                JwtLocations = locations,
            })
            { IssuerAt = provider.PositionOf("issuer") });
        }
        return providers;
    }

    private static List<JwtLocation> ReadLocations(FieldReader provider)
    {
        var locations = new List<JwtLocation>();
        foreach (var location in provider.Maps("jwt_locations", Location))
        {
            var given = new List<(JwtLocationKind Kind, string Field, string Name)>();
            foreach (var (kind, field) in new[] { (JwtLocationKind.Header, "header"), (JwtLocationKind.Query, "query"), (JwtLocationKind.Cookie, "cookie") })
            {
                if (location.String(field) is { } name && name.Trim().Length > 0)
                    given.Add((kind, field, name.Trim()));
            }
            var prefix = location.String("value_prefix") ?? "";

            if (given.Count != 1)
            {
                location.Error("header", given.Count == 0
                    ? $"{location.Context} gives no location: write one of header, query or cookie"
                    : $"{location.Context} gives {string.Join(" and ", given.Select(g => g.Field))}: write exactly one of header, query or cookie (one location per entry)");
                continue;
            }
            var (locationKind, locationField, locationName) = given[0];
            if (prefix.Length > 0 && locationKind != JwtLocationKind.Header)
            {
                location.Error("value_prefix", $"{location.Context}.value_prefix applies to a header only, not to a {locationField}");
                continue;
            }
            locations.Add(new JwtLocation(locationKind, locationName, prefix));
        }
        return locations;
    }

    private static List<AuthRuleConfig> ReadRules(FieldReader section)
    {
        var rules = new List<AuthRuleConfig>();
        foreach (var rule in section.Maps("rules", Rule))
        {
            var selector = RuleSectionsReader.ReadSelector(rule);
            var requirements = new List<Located<AuthRequirement>>();
            foreach (var requirement in rule.Maps("requirements", Requirement))
            {
                var providerId = requirement.String("provider_id")?.Trim();
                if (string.IsNullOrEmpty(providerId))
                {
                    if (requirement.IsInvalid("provider_id"))
                        continue;
                    requirement.Error("provider_id", $"{requirement.Context} has no provider_id: name one of authentication.providers[].id");
                    continue;
                }
                requirements.Add(new(new AuthRequirement(providerId, SplitAudiences(requirement.String("audiences"))),
                    requirement.PositionOf("provider_id")));
            }
            var allowWithoutCredential = rule.Bool("allow_without_credential") ?? false;
            if (selector is not null)
                rules.Add(new AuthRuleConfig(rule.Position, selector, requirements, allowWithoutCredential));
        }
        return rules;
    }

    /// <summary><c>audiences</c> is one comma-separated string (auth.proto); entries are trimmed, empty ones dropped.</summary>
    internal static IReadOnlyList<string> SplitAudiences(string? audiences) =>
        audiences is null ? [] : audiences.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);

    private static bool IsKeyUri(string uri) =>
        Uri.TryCreate(uri, UriKind.Absolute, out var parsed) && parsed.Scheme is "https" or "http" or "file";
}
