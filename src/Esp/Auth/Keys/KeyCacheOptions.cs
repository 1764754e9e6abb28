using Esp.Auth.ServiceAccounts;
namespace Esp.Auth.Keys;

internal sealed record KeyCacheOptions
{
    /// <summary><c>--jwks_cache_duration_in_s</c>: how long fetched keys count as fresh.</summary>
    public TimeSpan CacheDuration { get; init; } = TimeSpan.FromSeconds(300);

    /// <summary>A token naming an unknown <c>kid</c> triggers at most one refetch per provider per this interval.</summary>
    public TimeSpan UnknownKeyIdRefetchInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>After a failed fetch with nothing cached, calls fail fast for this long instead of each fetching again.</summary>
    public TimeSpan FailedFetchBackoff { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Where a service-account issuer's keys are published (Google's JWK endpoint, by email).</summary>
    public Uri GoogleServiceAccountKeys { get; init; } = new("https://www.googleapis.com/service_accounts/v1/jwk/");
}
