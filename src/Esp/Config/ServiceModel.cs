using System.Collections.Frozen;
using Esp.Grpc;

namespace Esp.Config;

/// <summary>
/// A service config compiled against its descriptor: everything the proxy needs per method,
/// immutable, looked up by <c>:path</c> on the hot path. Reloading builds a new one.
/// </summary>
internal sealed record ServiceModel
{
    /// <summary>The service name (<c>name:</c>), also the default JWT audience.</summary>
    public required string Name { get; init; }

    public string Title { get; init; } = "";

    /// <summary>A content hash of the config files and descriptor: the same inputs give the same id.</summary>
    public required string ConfigId { get; init; }

    /// <summary>Every method of the <c>apis:</c>, by HTTP/2 path (<c>/package.Service/Method</c>).</summary>
    public required FrozenDictionary<string, MethodPolicy> MethodsByPath { get; init; }

    /// <summary>The authentication providers by id.</summary>
    public required FrozenDictionary<string, AuthProvider> Providers { get; init; }

    /// <summary>The backend of methods no backend rule names (<c>--backend</c>).</summary>
    public required BackendRoute DefaultBackend { get; init; }
}

/// <summary>What the proxy does for one method.</summary>
internal sealed record MethodPolicy
{
    /// <summary>The method's full name as selectors write it: <c>package.Service.Method</c>.</summary>
    public required string Selector { get; init; }

    /// <summary>The HTTP/2 path: <c>/package.Service/Method</c>.</summary>
    public required string Path { get; init; }

    public required MethodType Kind { get; init; }

    /// <summary>Null when no authentication rule gives the method requirements: calls pass without a JWT.</summary>
    public AuthPolicy? Auth { get; init; }

    /// <summary><c>usage.rules[].allow_unregistered_calls</c>: false means an API key is required.</summary>
    public bool AllowUnregisteredCalls { get; init; }

    /// <summary><c>usage.rules[].skip_service_control</c>: no API key check at all.</summary>
    public bool SkipServiceControl { get; init; }

    /// <summary>Where the method's API key may be (system_parameters for <c>api_key</c>, else ESP's defaults).</summary>
    public required ApiKeyLocations ApiKeyLocations { get; init; }

    public required BackendRoute Backend { get; init; }
}

/// <summary>The authentication rule that applies to a method.</summary>
internal sealed record AuthPolicy(IReadOnlyList<AuthRequirement> Requirements, bool AllowWithoutCredential);

/// <summary>One accepted provider, with the audiences the rule adds for it.</summary>
internal sealed record AuthRequirement(string ProviderId, IReadOnlyList<string> Audiences);

internal sealed record AuthProvider
{
    public required string Id { get; init; }

    public required string Issuer { get; init; }

    /// <summary>Null when the config gives none (OpenID discovery, or Google's endpoint for a service-account issuer).</summary>
    public string? JwksUri { get; init; }

    /// <summary>The provider's <c>audiences</c>, split on commas and trimmed.</summary>
    public IReadOnlyList<string> Audiences { get; init; } = [];

    /// <summary>Empty means ESP's defaults (Authorization: Bearer, X-Goog-Iap-Jwt-Assertion, access_token).</summary>
    public IReadOnlyList<JwtLocation> JwtLocations { get; init; } = [];

    public string? AuthorizationUrl { get; init; }
}

internal enum JwtLocationKind
{
    Header,
    Query,
    Cookie,
}

internal sealed record JwtLocation(JwtLocationKind Kind, string Name, string ValuePrefix = "");

internal sealed record ApiKeyLocations(IReadOnlyList<string> Headers, IReadOnlyList<string> QueryParameters)
{
    /// <summary>ESP's defaults: query <c>key</c> and <c>api_key</c>, header <c>x-api-key</c>.</summary>
    public static readonly ApiKeyLocations Default = new(["x-api-key"], ["key", "api_key"]);
}

/// <summary>Where and how calls of a method are forwarded.</summary>
internal sealed record BackendRoute
{
    /// <summary>The address as configured (<c>grpc://host:port</c>, <c>grpcs://host:port</c>), for messages and logs.</summary>
    public required string Address { get; init; }

    /// <summary>The HTTP/2 base URI: <c>http://</c> for grpc://, <c>https://</c> for grpcs://.</summary>
    public required Uri BaseUri { get; init; }

    /// <summary><c>backend.rules[].deadline</c>: an upper bound on every call's deadline.</summary>
    public TimeSpan? Deadline { get; init; }

    /// <summary><c>jwt_audience</c>: the proxy mints an ID token for this audience (issue 5).</summary>
    public string? JwtAudience { get; init; }

    public bool DisableAuth { get; init; }
}
