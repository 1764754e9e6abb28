namespace Esp.Auth.Jwt;

/// <summary>
/// A token that passed the structural checks: segments decoded, header and claims typed. Nothing
/// about it is trusted until its signature has been verified with a provider's key.
/// </summary>
internal sealed class JwtToken
{
    /// <summary>The token as received (the verified-token cache's key).</summary>
    public required string Raw { get; init; }

    public required JwtAlgorithm Algorithm { get; init; }

    /// <summary>The header's <c>kid</c>; null when absent or empty (then every key is tried).</summary>
    public string? KeyId { get; init; }

    /// <summary><c>header.payload</c> as ASCII: what the signature covers.</summary>
    public required byte[] SigningInput { get; init; }

    public required byte[] Signature { get; init; }

    /// <summary>The payload segment as received (base64url, unpadded): ESPv2's user-info value.</summary>
    public required string PayloadSegment { get; init; }

    /// <summary>The decoded payload: a JSON object.</summary>
    public required byte[] PayloadJson { get; init; }

    public string? Issuer { get; init; }

    public string? Subject { get; init; }

    public string? Email { get; init; }

    public IReadOnlyList<string> Audiences { get; init; } = [];

    /// <summary>The audiences normalized like issuers, made once: a cached token is checked on every call.</summary>
    public IReadOnlyList<string> NormalizedAudiences => _normalizedAudiences ??= [.. Audiences.Select(Config.Issuers.Normalize)];

    private string[]? _normalizedAudiences;

    /// <summary>Seconds since the epoch; null when the claim is absent.</summary>
    public long? ExpiresAt { get; init; }

    public long? NotBefore { get; init; }

    /// <summary>
    /// The X-Endpoint-API-UserInfo value made from this token, kept so that calls whose token
    /// comes from the verified-token cache do not build it again. Computing it twice in a race
    /// gives the same string, so no lock is needed.
    /// </summary>
    public string? UserInfo { get; set; }
}
