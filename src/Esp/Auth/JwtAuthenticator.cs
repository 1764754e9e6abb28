using System.Collections.Frozen;
using Esp.Auth.Jwt;
using Esp.Auth.Keys;
using Esp.Config;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Esp.Auth;

/// <summary>
/// Checks a call's JWTs against its method's authentication rule, in this order, cheapest first:
/// find the tokens; parse each strictly; match its issuer to one of the method's providers; check
/// its time window and audience; only then fetch keys and verify the signature. A verified token
/// is cached, but every call re-checks its issuer's provider and its time, and its audience for
/// its own method (the entry remembers the last method it satisfied).
/// </summary>
internal sealed class JwtAuthenticator : IDisposable
{
    private readonly FrozenDictionary<string, ProviderKeySource> _keys;
    private readonly FrozenDictionary<(string Path, string Provider), FrozenSet<string>> _audiences;
    /// <summary>Each method's providers, by the model's own <see cref="MethodPolicy"/> instances.</summary>
    private readonly FrozenDictionary<MethodPolicy, AuthProvider[]> _providersByMethod;
    private readonly VerifiedTokenCache _cache;
    private readonly TimeProvider _time;

    public JwtAuthenticator(ServiceModel model, AuthOptions options, HttpMessageInvoker http, TimeProvider time, ILogger logger)
    {
        _time = time;
        UserInfoFormat = options.UserInfoFormat;
        _cache = new VerifiedTokenCache(options.JwtCacheSize);
        var fetcher = new KeyFetcher(http, options.KeyFetchTimeout);
        _keys = model.Providers.Values.ToFrozenDictionary(p => p.Id, p => new ProviderKeySource(p, fetcher, options.Keys, time, logger));
        _audiences = AcceptedAudiences(model, options.DisableServiceNameAudience);
        _providersByMethod = model.MethodsByPath.Values
            .Where(m => m.Auth is not null)
            .ToFrozenDictionary(m => m, m => ProvidersOf(m.Auth!, model.Providers), (IEqualityComparer<MethodPolicy>)ReferenceEqualityComparer.Instance);
        foreach (var (id, source) in _keys)
            AuthLog.KeySource(logger, id, source.Origin);
    }

    public IReadOnlyDictionary<string, ProviderKeySource> KeySources => _keys;

    public UserInfoFormat UserInfoFormat { get; }

    public VerifiedTokenCache Cache => _cache;

    /// <summary>Fetches every provider's keys in the background, so the first calls need not wait. Never fails the start.</summary>
    public void Prefetch()
    {
        foreach (var source in _keys.Values)
            source.Refresh();
    }

    /// <summary>
    /// Checks a call's tokens for <paramref name="method"/> (one of the model's). Completes
    /// synchronously when every token is in the verified-token cache: no async frame on that path.
    /// </summary>
    public ValueTask<AuthResult> AuthenticateAsync(HttpRequest request, MethodPolicy method, CancellationToken cancellationToken)
    {
        if (method.Auth is not { } auth)
            return new(AuthResult.Anonymous);
        if (!_providersByMethod.TryGetValue(method, out var providers))
            throw new ArgumentException($"{method.Path} is not a method of this authenticator's model.", nameof(method));
        var tokens = TokenLocator.Find(request, providers);
        if (tokens.Count == 0)
            return new(auth.AllowWithoutCredential ? AuthResult.Anonymous : AuthResult.Refused(AuthFailure.Missing));

        var now = _time.GetUtcNow();
        JwtToken? identity = null;
        for (var i = 0; i < tokens.Count; i++)
        {
            if (!_cache.TryGet(tokens[i].Source, tokens[i].Start, tokens[i].Length, now, out var cached))
                return VerifyFromAsync(tokens, i, identity, method, cancellationToken);
            var result = CheckCached(tokens[i], cached, method, now);
            if (result.Failure is not null)
                return new(result);
            identity ??= result.Identity;
        }
        return new(AuthResult.Verified(identity!));
    }

    /// <summary>The rest of <see cref="AuthenticateAsync"/> from the first token not in the cache.</summary>
    private async ValueTask<AuthResult> VerifyFromAsync(IReadOnlyList<FoundToken> tokens, int first, JwtToken? identity, MethodPolicy method, CancellationToken cancellationToken)
    {
        for (var i = first; i < tokens.Count; i++)
        {
            var result = await VerifyAsync(tokens[i], method, cancellationToken);
            if (result.Failure is not null)
                return result;
            identity ??= result.Identity;
        }
        return AuthResult.Verified(identity!);
    }

    private async ValueTask<AuthResult> VerifyAsync(FoundToken found, MethodPolicy method, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        if (_cache.TryGet(found.Source, found.Start, found.Length, now, out var cached))
            return CheckCached(found, cached, method, now); // verified meanwhile, by another call

        if (!JwtParser.TryParse(found.Token, out var token, out var malformed))
            return AuthResult.Refused(malformed);
        var provider = ProviderFor(token, found.Providers);
        if (provider is null)
            return AuthResult.Refused(AuthFailure.UnknownIssuer);
        if ((CheckTime(token, now) ?? CheckAudience(token, provider, method)) is { } failure)
            return AuthResult.Refused(failure);

        var source = _keys[provider.Id];
        var keys = await source.GetKeysAsync(cancellationToken);
        if (keys is null)
            return AuthResult.Refused(AuthFailure.KeysFetchFailed);
        var signature = keys.Verify(token);
        if (signature == AuthFailure.NoMatchingKey && keys.LacksKeyId(token)
            && await source.GetKeysForUnknownKeyIdAsync(keys, cancellationToken) is { } newer && !ReferenceEquals(newer, keys))
        {
            signature = newer.Verify(token);
        }
        if (signature is { } bad)
            return AuthResult.Refused(bad);

        _cache.Add(token, provider, now).AcceptedFor = method;
        return AuthResult.Verified(token);
    }

    /// <summary>
    /// A token verified before, perhaps for another method: its provider must read where it was
    /// found and serve this method, and its time window must hold now. The audience check is
    /// remembered per entry for the last method that passed it (a token's audiences and a
    /// method's accepted ones never change), so a client calling one method skips it.
    /// </summary>
    private AuthResult CheckCached(FoundToken found, VerifiedToken cached, MethodPolicy method, DateTimeOffset now)
    {
        if (!Reads(found.Providers, cached.Provider))
            return AuthResult.Refused(AuthFailure.UnknownIssuer);
        if (CheckTime(cached.Token, now) is { } expired)
            return AuthResult.Refused(expired);
        if (!ReferenceEquals(cached.AcceptedFor, method))
        {
            if (CheckAudience(cached.Token, cached.Provider, method) is { } refused)
                return AuthResult.Refused(refused);
            cached.AcceptedFor = method;
        }
        return AuthResult.Verified(cached.Token);
    }

    /// <summary>Whether the provider is among those that read where the token was found (the model's instances; no enumerator per call).</summary>
    private static bool Reads(IReadOnlyList<AuthProvider> providers, AuthProvider provider)
    {
        for (var i = 0; i < providers.Count; i++)
        {
            if (ReferenceEquals(providers[i], provider))
                return true;
        }
        return false;
    }

    /// <summary>The provider whose issuer the token names, among those that read where it was found.</summary>
    private static AuthProvider? ProviderFor(JwtToken token, IReadOnlyList<AuthProvider> providers)
    {
        if (token.Issuer is null)
            return null;
        var issuer = Issuers.Normalize(token.Issuer);
        foreach (var provider in providers)
        {
            if (string.Equals(Issuers.Normalize(provider.Issuer), issuer, StringComparison.Ordinal))
                return provider;
        }
        return null;
    }

    private static AuthFailure? CheckTime(JwtToken token, DateTimeOffset now)
    {
        var seconds = now.ToUnixTimeSeconds();
        var skew = (long)AuthOptions.ClockSkew.TotalSeconds;
        // A present exp of 0 is expired (jwt_verify_lib reads it as "no exp": too lenient).
        // seconds - skew, not exp + skew: an exp near long.MaxValue must not wrap around to "expired long ago".
        if (token.ExpiresAt is { } exp && (exp == 0 || seconds - skew > exp))
            return AuthFailure.Expired;
        if (token.NotBefore is { } nbf && nbf > seconds + skew)
            return AuthFailure.NotYetValid;
        return null;
    }

    private AuthFailure? CheckAudience(JwtToken token, AuthProvider provider, MethodPolicy method)
    {
        if (!_audiences.TryGetValue((method.Path, provider.Id), out var accepted))
            return AuthFailure.UnknownIssuer;
        foreach (var audience in token.NormalizedAudiences)
        {
            if (accepted.Contains(audience))
                return null;
        }
        return AuthFailure.AudienceNotAllowed;
    }

    /// <summary>The providers whose tokens a method accepts, in the rule's order.</summary>
    private static AuthProvider[] ProvidersOf(AuthPolicy auth, IReadOnlyDictionary<string, AuthProvider> providers)
    {
        var result = new AuthProvider[auth.Requirements.Count];
        for (var i = 0; i < result.Length; i++)
            result[i] = providers[auth.Requirements[i].ProviderId];
        return result;
    }

    /// <summary>
    /// Per method and provider, the audiences a token may carry (normalized like issuers): the
    /// service name (unless disabled), the provider's audiences and the requirement's.
    /// </summary>
    private static FrozenDictionary<(string, string), FrozenSet<string>> AcceptedAudiences(ServiceModel model, bool disableServiceName)
    {
        var result = new Dictionary<(string, string), FrozenSet<string>>();
        foreach (var method in model.MethodsByPath.Values)
        {
            if (method.Auth is null)
                continue;
            foreach (var requirement in method.Auth.Requirements)
            {
                var audiences = new HashSet<string>(StringComparer.Ordinal);
                if (!disableServiceName)
                    audiences.Add(Issuers.Normalize(model.Name));
                foreach (var audience in model.Providers[requirement.ProviderId].Audiences.Concat(requirement.Audiences))
                    audiences.Add(Issuers.Normalize(audience));
                var key = (method.Path, requirement.ProviderId);
                result[key] = result.TryGetValue(key, out var earlier) ? earlier.Union(audiences).ToFrozenSet(StringComparer.Ordinal) : audiences.ToFrozenSet(StringComparer.Ordinal);
            }
        }
        return result.ToFrozenDictionary();
    }

    public void Dispose()
    {
        foreach (var source in _keys.Values)
            source.Dispose();
    }
}
