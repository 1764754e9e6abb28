using Esp.Auth.Keys;

namespace Esp.Auth;

/// <summary>The authentication flags of <c>esp run</c>.</summary>
internal sealed record AuthOptions
{
    /// <summary><c>--jwt_cache_size</c>: verified tokens kept; 0 turns the cache off.</summary>
    public int JwtCacheSize { get; init; } = 1000;

    /// <summary><c>--http_request_timeout_s</c>: the limit on every key fetch.</summary>
    public TimeSpan KeyFetchTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary><c>--disable_jwt_audience_service_name_check</c>: the service name is no longer an accepted audience.</summary>
    public bool DisableServiceNameAudience { get; init; }

    public UserInfoFormat UserInfoFormat { get; init; } = UserInfoFormat.Esp;

    public KeyCacheOptions Keys { get; init; } = new();

    /// <summary>Allowed clock difference for <c>exp</c> and <c>nbf</c>.</summary>
    public static readonly TimeSpan ClockSkew = TimeSpan.FromSeconds(60);
}
