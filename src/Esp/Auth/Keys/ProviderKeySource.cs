using System.Text.Json;
using Esp.Config;
using Microsoft.Extensions.Logging;
using Esp.Auth.ServiceAccounts;

namespace Esp.Auth.Keys;

/// <summary>
/// One provider's keys: fetched on first need (or at start), shared by concurrent callers (one
/// fetch, however many wait), refreshed in the background before they go stale, and kept (stale,
/// with a warning) when a refresh fails. A token with an unknown <c>kid</c> may trigger one early
/// refetch per interval, so key rotation is picked up without letting random kids flood the key server.
/// </summary>
internal sealed partial class ProviderKeySource : IDisposable
{
    private readonly AuthProvider _provider;
    private readonly KeyFetcher _fetcher;
    private readonly KeyCacheOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private readonly ITimer _refreshTimer;
    private KeySet? _keys;
    private DateTimeOffset _freshUntil;
    private DateTimeOffset _retryNotBefore;
    private DateTimeOffset _lastUnknownKeyIdFetch = DateTimeOffset.MinValue;
    private Task<KeySet?>? _fetch;
    private Uri? _jwksUri;
    private int _fetchCount;

    public ProviderKeySource(AuthProvider provider, KeyFetcher fetcher, KeyCacheOptions options, TimeProvider time, ILogger logger)
    {
        _provider = provider;
        _fetcher = fetcher;
        _options = options;
        _time = time;
        _logger = logger;
        _jwksUri = provider.JwksUri is { Length: > 0 } uri ? new Uri(uri) : ServiceAccountKeys(provider.Issuer, options);
        _refreshTimer = time.CreateTimer(static s => ((ProviderKeySource)s!).Refresh(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Where the keys come from, for the startup log.</summary>
    public string Origin => _provider.JwksUri is { Length: > 0 } uri ? uri
        : _jwksUri is not null ? $"{_jwksUri} (Google's keys for the service account)"
        : $"{DiscoveryUri()} (OpenID discovery)";

    /// <summary>How many fetches have been started (tests check single-flight and rate limits with it).</summary>
    public int FetchCount => Volatile.Read(ref _fetchCount);

    /// <summary>The keys: fresh, stale (while a refresh is under way), or null when none could be fetched.</summary>
    public ValueTask<KeySet?> GetKeysAsync(CancellationToken cancellationToken)
    {
        var keys = Volatile.Read(ref _keys);
        if (keys is not null)
        {
            if (_time.GetUtcNow() >= _freshUntil)
                Refresh();
            return ValueTask.FromResult<KeySet?>(keys);
        }
        return new ValueTask<KeySet?>(FetchSharedAsync(cancellationToken, onlyIfMissing: true));
    }

    /// <summary>Keys for a token whose kid is not in <paramref name="seen"/>: refetched at most once per interval.</summary>
    public async ValueTask<KeySet?> GetKeysForUnknownKeyIdAsync(KeySet seen, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (!ReferenceEquals(_keys, seen))
                return _keys;
            var now = _time.GetUtcNow();
            if (now - _lastUnknownKeyIdFetch < _options.UnknownKeyIdRefetchInterval)
                return _keys;
            _lastUnknownKeyIdFetch = now;
        }
        return await FetchSharedAsync(cancellationToken);
    }

    /// <summary>Starts a fetch now unless one is running (at start, and when the refresh timer fires).</summary>
    public void Refresh() => _ = FetchSharedAsync(CancellationToken.None);

    /// <param name="onlyIfMissing">A caller that found no keys: a fetch that ended since then has brought them.</param>
    private Task<KeySet?> FetchSharedAsync(CancellationToken cancellationToken, bool onlyIfMissing = false)
    {
        Task<KeySet?> fetch;
        lock (_lock)
        {
            if (_fetch is null)
            {
                if (onlyIfMissing && _keys is not null)
                    return Task.FromResult<KeySet?>(_keys);
                // Right after a failed fetch, nothing is fetched again (stale keys are served meanwhile).
                if (_time.GetUtcNow() < _retryNotBefore)
                    return Task.FromResult(_keys);
                _fetchCount++;
                _fetch = FetchAndStoreAsync();
            }
            fetch = _fetch;
        }
        return fetch.WaitAsync(cancellationToken);
    }

    /// <summary>One fetch on behalf of everyone waiting: not cancelled by any single caller.</summary>
    private async Task<KeySet?> FetchAndStoreAsync()
    {
        await Task.Yield();
        string? problem;
        try
        {
            (var keys, problem) = await FetchKeysAsync();
            if (keys is not null)
            {
                lock (_lock)
                {
                    _keys = keys;
                    _freshUntil = _time.GetUtcNow() + _options.CacheDuration;
                }
                // Refresh before the keys go stale, so calls never wait for a fetch.
                _refreshTimer.Change(_options.CacheDuration * 0.9, Timeout.InfiniteTimeSpan);
                AuthLog.KeysFetched(_logger, _provider.Id, keys.Keys.Count, Origin);
                return keys;
            }
        }
        finally
        {
            lock (_lock)
                _fetch = null;
        }

        KeySet? stale;
        lock (_lock)
        {
            stale = _keys;
            _retryNotBefore = _time.GetUtcNow() + _options.FailedFetchBackoff;
        }
        if (stale is not null)
        {
            AuthLog.KeysStale(_logger, _provider.Id, problem!);
            _refreshTimer.Change(Min(_options.CacheDuration / 10, TimeSpan.FromSeconds(30)), Timeout.InfiniteTimeSpan);
        }
        else
        {
            AuthLog.KeysFetchFailed(_logger, _provider.Id, problem!);
        }
        return stale;
    }

    private async Task<(KeySet? Keys, string? Problem)> FetchKeysAsync()
    {
        var jwksUri = _jwksUri ?? await DiscoverJwksUriAsync();
        if (jwksUri is null)
            return (null, $"OpenID discovery at {DiscoveryUri()} found no jwks_uri");
        // Parsing, and the calls waiting for these keys, resume on the thread pool, not on the
        // socket thread that completed the read (esp runs socket completions inline: ProcessTuning).
        var fetched = await _fetcher.FetchAsync(jwksUri, CancellationToken.None).ConfigureAwait(ConfigureAwaitOptions.ForceYielding);
        if (fetched.Body is null)
            return (null, fetched.Problem);
        var keys = KeySetParser.Parse(fetched.Body, out var problem, out var skipped);
        if (skipped > 0 && keys is not null)
            AuthLog.KeysSkipped(_logger, _provider.Id, skipped);
        return (keys, problem is null ? null : $"{jwksUri}: {problem}");
    }

    /// <summary>OpenID discovery (OIDC Discovery §4): the issuer's configuration names its jwks_uri.</summary>
    private async Task<Uri?> DiscoverJwksUriAsync()
    {
        var fetched = await _fetcher.FetchAsync(DiscoveryUri(), CancellationToken.None).ConfigureAwait(ConfigureAwaitOptions.ForceYielding);
        if (fetched.Body is null)
            return null;
        try
        {
            using var document = JsonDocument.Parse(fetched.Body);
            if (document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("jwks_uri", out var value)
                && value.ValueKind == JsonValueKind.String
                && Uri.TryCreate(value.GetString(), UriKind.Absolute, out var uri)
                && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp))
            {
                lock (_lock)
                    _jwksUri = uri;
                return uri;
            }
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
        }
        return null;
    }

    private Uri DiscoveryUri()
    {
        var issuer = _provider.Issuer.Contains("://", StringComparison.Ordinal) ? _provider.Issuer : "https://" + _provider.Issuer;
        return new Uri(issuer.TrimEnd('/') + "/.well-known/openid-configuration");
    }

    /// <summary>An issuer that is a Google service account publishes its keys at Google's JWK endpoint.</summary>
    private static Uri? ServiceAccountKeys(string issuer, KeyCacheOptions options) =>
        issuer.Contains('@', StringComparison.Ordinal) && issuer.EndsWith(".gserviceaccount.com", StringComparison.OrdinalIgnoreCase)
            ? new Uri(options.GoogleServiceAccountKeys, Uri.EscapeDataString(issuer))
            : null;

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    public void Dispose() => _refreshTimer.Dispose();
}
