using System.Security.Cryptography;
using Esp.Auth.Jwt;

namespace Esp.Auth.Keys;

/// <summary>
/// One verification key of a provider. The key decides the algorithm family (RSA, EC, HMAC),
/// never the token: an RS256 key is never used as an HMAC secret.
/// </summary>
internal sealed class JwtKey
{
    private JwtKey(string? keyId, string? algorithm)
    {
        KeyId = keyId;
        Algorithm = algorithm;
    }

    public string? KeyId { get; }

    /// <summary>The key's own <c>alg</c>, when it names one: then only that algorithm may use it.</summary>
    public string? Algorithm { get; }

    public RSA? Rsa { get; private init; }

    public ECDsa? Ec { get; private init; }

    /// <summary>For EC keys: the coordinate size in bytes (32, 48, 66).</summary>
    public int EcCoordinateSize { get; private init; }

    public byte[]? HmacSecret { get; private init; }

    public static JwtKey ForRsa(string? keyId, string? algorithm, RSA rsa) => new(keyId, algorithm) { Rsa = rsa };

    public static JwtKey ForEc(string? keyId, string? algorithm, ECDsa ec, int coordinateSize) =>
        new(keyId, algorithm) { Ec = ec, EcCoordinateSize = coordinateSize };

    public static JwtKey ForHmac(string? keyId, string? algorithm, byte[] secret) => new(keyId, algorithm) { HmacSecret = secret };

    /// <summary>Whether this key may verify a token signed with <paramref name="algorithm"/>.</summary>
    public bool Accepts(JwtAlgorithm algorithm)
    {
        if (Algorithm is not null && !string.Equals(Algorithm, algorithm.Name, StringComparison.Ordinal))
            return false;
        return algorithm.Family switch
        {
            KeyFamily.Rsa or KeyFamily.RsaPss => Rsa is not null,
            KeyFamily.Ec => Ec is not null && EcCoordinateSize == algorithm.EcCoordinateSize,
            KeyFamily.Hmac => HmacSecret is not null,
            _ => false,
        };
    }

    /// <summary>Checks the signature; false for any mismatch, malformed signature included.</summary>
    public bool Verify(JwtToken token)
    {
        var algorithm = token.Algorithm;
        try
        {
            return algorithm.Family switch
            {
                KeyFamily.Rsa => Rsa!.VerifyData(token.SigningInput, token.Signature, algorithm.Hash, RSASignaturePadding.Pkcs1),
                KeyFamily.RsaPss => Rsa!.VerifyData(token.SigningInput, token.Signature, algorithm.Hash, RSASignaturePadding.Pss),
                // JWS ECDSA signatures are raw r‖s of exactly two coordinates (RFC 7518 §3.4); DER or
                // any other length is refused before the math. .NET rejects r = 0 or s = 0 itself.
                KeyFamily.Ec => token.Signature.Length == 2 * EcCoordinateSize
                    && Ec!.VerifyData(token.SigningInput, token.Signature, algorithm.Hash, DSASignatureFormat.IeeeP1363FixedFieldConcatenation),
                KeyFamily.Hmac => VerifyHmac(token, algorithm),
                _ => false,
            };
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    private bool VerifyHmac(JwtToken token, JwtAlgorithm algorithm)
    {
        Span<byte> expected = stackalloc byte[64];
        var written = algorithm.Hash.Name switch
        {
            "SHA256" => HMACSHA256.HashData(HmacSecret, token.SigningInput, expected),
            "SHA384" => HMACSHA384.HashData(HmacSecret, token.SigningInput, expected),
            _ => HMACSHA512.HashData(HmacSecret, token.SigningInput, expected),
        };
        return CryptographicOperations.FixedTimeEquals(expected[..written], token.Signature);
    }
}
