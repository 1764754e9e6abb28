using Esp.Grpc;

namespace Esp.Config;

/// <summary>
/// What one service config file says (or several merged, <see cref="ServiceConfigMerger"/>), as read: values
/// checked one by one, with their positions, but not yet checked against each other or the descriptor.
/// </summary>
internal sealed record ServiceConfigDocument
{
    /// <summary>The file (or, merged, the first file) the document came from.</summary>
    public required string File { get; init; }

    public Located<string>? Name { get; init; }

    public string? Title { get; init; }

    /// <summary>Null when no <c>apis:</c> section is given.</summary>
    public IReadOnlyList<ApiConfig>? Apis { get; init; }

    public IReadOnlyList<ProviderConfig> Providers { get; init; } = [];

    public IReadOnlyList<AuthRuleConfig> AuthRules { get; init; } = [];

    public IReadOnlyList<UsageRuleConfig> UsageRules { get; init; } = [];

    public IReadOnlyList<ApiKeyRuleConfig> ApiKeyRules { get; init; } = [];

    public IReadOnlyList<BackendRuleConfig> BackendRules { get; init; } = [];
}

/// <summary>A value and where it was written.</summary>
internal readonly record struct Located<T>(T Value, SourcePosition At);

/// <summary>A rule of any section: where it is, and the methods it applies to.</summary>
internal interface IRuleConfig
{
    SourcePosition At { get; }

    Selector Selector { get; }
}

/// <summary><c>apis[]</c>: a gRPC service; <see cref="Methods"/> only in ESPv2's normalized JSON.</summary>
internal sealed record ApiConfig(SourcePosition At, string Name, IReadOnlyList<ApiMethod>? Methods);

/// <summary>A method of a service, from the descriptor or from <c>apis[].methods</c>.</summary>
internal sealed record ApiMethod(string Name, MethodType Kind)
{
    public static MethodType KindOf(bool clientStreaming, bool serverStreaming) => (clientStreaming, serverStreaming) switch
    {
        (false, false) => MethodType.Unary,
        (true, false) => MethodType.ClientStreaming,
        (false, true) => MethodType.ServerStreaming,
        (true, true) => MethodType.DuplexStreaming,
    };
}

/// <summary><c>authentication.providers[]</c>.</summary>
internal sealed record ProviderConfig(SourcePosition At, AuthProvider Provider)
{
    /// <summary>The position of <c>issuer:</c>, for the duplicate-issuer error.</summary>
    public SourcePosition IssuerAt { get; init; } = At;
}

/// <summary><c>authentication.rules[]</c>: <see cref="Requirements"/> empty means no JWT is needed.</summary>
internal sealed record AuthRuleConfig(SourcePosition At, Selector Selector, IReadOnlyList<Located<AuthRequirement>> Requirements,
    bool AllowWithoutCredential) : IRuleConfig;

/// <summary><c>usage.rules[]</c>.</summary>
internal sealed record UsageRuleConfig(SourcePosition At, Selector Selector, bool AllowUnregisteredCalls, bool SkipServiceControl)
    : IRuleConfig;

/// <summary><c>system_parameters.rules[]</c>: the <c>api_key</c> parameter's locations, or null when the rule has none.</summary>
internal sealed record ApiKeyRuleConfig(SourcePosition At, Selector Selector, ApiKeyLocations? Locations) : IRuleConfig;

/// <summary><c>backend.rules[]</c>: <see cref="Address"/> null keeps the default backend (a rule that only sets a deadline).</summary>
internal sealed record BackendRuleConfig(SourcePosition At, Selector Selector, BackendAddress? Address, TimeSpan? Deadline,
    string? JwtAudience, bool DisableAuth) : IRuleConfig;
