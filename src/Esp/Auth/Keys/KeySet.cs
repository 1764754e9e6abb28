using Esp.Auth.Jwt;

namespace Esp.Auth.Keys;

/// <summary>A provider's keys as last fetched.</summary>
internal sealed class KeySet(IReadOnlyList<JwtKey> keys)
{
    public IReadOnlyList<JwtKey> Keys { get; } = keys;

    /// <summary>
    /// Verifies a token's signature with the key its <c>kid</c> names (or, without a kid, any key
    /// that fits its algorithm). Null on success, else the reason.
    /// </summary>
    public AuthFailure? Verify(JwtToken token)
    {
        var anyMatchingKey = false;
        var keysHaveIds = false;
        foreach (var key in Keys)
            keysHaveIds |= key.KeyId is not null;
        foreach (var key in Keys)
        {
            // A kid selects its key when the set names keys; a set without kids is tried in full.
            if (token.KeyId is not null && keysHaveIds && !string.Equals(key.KeyId, token.KeyId, StringComparison.Ordinal))
                continue;
            if (!key.Accepts(token.Algorithm))
                continue;
            anyMatchingKey = true;
            if (key.Verify(token))
                return null;
        }
        return anyMatchingKey ? AuthFailure.VerificationFails : AuthFailure.NoMatchingKey;
    }

    /// <summary>Whether the token names a key id this set does not have (a reason to look for new keys).</summary>
    public bool LacksKeyId(JwtToken token)
    {
        if (token.KeyId is null)
            return false;
        foreach (var key in Keys)
        {
            if (string.Equals(key.KeyId, token.KeyId, StringComparison.Ordinal))
                return false;
        }
        return true;
    }
}
