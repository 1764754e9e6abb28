using System.Collections.Concurrent;
using Esp.Auth.ServiceAccounts;

namespace Esp.Forwarding;

/// <summary>
/// ID tokens the proxy sends to backends whose rule names a <c>jwt_audience</c>: signed with the
/// proxy's own service account key (<c>--service_account_key</c>), issuer and subject its email,
/// one per audience, reused until five minutes before they expire.
/// </summary>
internal sealed class BackendIdTokens(ServiceAccountKey key, TimeProvider time)
{
    private static readonly TimeSpan Lifetime = TimeSpan.FromHours(1);
    private static readonly TimeSpan RenewBefore = TimeSpan.FromMinutes(5);

    private readonly ConcurrentDictionary<string, (string Token, DateTimeOffset RenewAt)> _tokens = new(StringComparer.Ordinal);

    public string For(string audience)
    {
        var now = time.GetUtcNow();
        if (_tokens.TryGetValue(audience, out var cached) && now < cached.RenewAt)
            return cached.Token;
        var token = TokenSigner.Sign(key, key.ClientEmail, [audience], key.ClientEmail, Lifetime, now);
        _tokens[audience] = (token, now + Lifetime - RenewBefore);
        return token;
    }
}
