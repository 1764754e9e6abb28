using System.Collections.Frozen;
using System.Security.Cryptography;

namespace Esp.Auth.Jwt;

internal enum KeyFamily
{
    Rsa,
    RsaPss,
    Ec,
    Hmac,
}

/// <summary>A JWS algorithm we accept: its family, hash and (for ECDSA) curve size. <c>none</c> is never one.</summary>
internal sealed record JwtAlgorithm(string Name, KeyFamily Family, HashAlgorithmName Hash, int EcCoordinateSize = 0)
{
    public static readonly FrozenDictionary<string, JwtAlgorithm> Supported = new[]
    {
        new JwtAlgorithm("RS256", KeyFamily.Rsa, HashAlgorithmName.SHA256),
        new JwtAlgorithm("RS384", KeyFamily.Rsa, HashAlgorithmName.SHA384),
        new JwtAlgorithm("RS512", KeyFamily.Rsa, HashAlgorithmName.SHA512),
        new JwtAlgorithm("PS256", KeyFamily.RsaPss, HashAlgorithmName.SHA256),
        new JwtAlgorithm("PS384", KeyFamily.RsaPss, HashAlgorithmName.SHA384),
        new JwtAlgorithm("PS512", KeyFamily.RsaPss, HashAlgorithmName.SHA512),
        new JwtAlgorithm("ES256", KeyFamily.Ec, HashAlgorithmName.SHA256, 32),
        new JwtAlgorithm("ES384", KeyFamily.Ec, HashAlgorithmName.SHA384, 48),
        new JwtAlgorithm("ES512", KeyFamily.Ec, HashAlgorithmName.SHA512, 66),
        new JwtAlgorithm("HS256", KeyFamily.Hmac, HashAlgorithmName.SHA256),
        new JwtAlgorithm("HS384", KeyFamily.Hmac, HashAlgorithmName.SHA384),
        new JwtAlgorithm("HS512", KeyFamily.Hmac, HashAlgorithmName.SHA512),
    }.ToFrozenDictionary(a => a.Name, StringComparer.Ordinal);
}
