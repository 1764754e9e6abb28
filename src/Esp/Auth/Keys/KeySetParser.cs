using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Esp.Auth.Jwt;

namespace Esp.Auth.Keys;

/// <summary>
/// Reads what a <c>jwks_uri</c> returns, by its shape: a JWKS (<c>{"keys": [...]}</c>) or Google's
/// X.509 certificate map (<c>{"kid": "-----BEGIN CERTIFICATE-----..."}</c>). Keys that are unusable
/// or too weak are skipped (and counted); the rest are used.
/// </summary>
internal static class KeySetParser
{
    private const int MinRsaBits = 2048;
    private const int MinHmacBytes = 32;

    /// <returns>The keys, or null with a reason when the document holds no usable key.</returns>
    public static KeySet? Parse(ReadOnlySpan<byte> body, out string? problem, out int skipped)
    {
        skipped = 0;
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body.ToArray(), new JsonDocumentOptions { MaxDepth = 16 });
        }
        catch (JsonException)
        {
            problem = "the key document is not JSON";
            return null;
        }
        using (document)
        {
            try
            {
                return Read(document.RootElement, out problem, ref skipped);
            }
            catch (InvalidOperationException)
            {
                // A member name System.Text.Json cannot decode (invalid UTF-8, a lone surrogate).
                problem = "the key document holds text that is not valid Unicode";
                return null;
            }
        }
    }

    private static KeySet? Read(JsonElement root, out string? problem, ref int skipped)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            problem = "the key document is not a JSON object";
            return null;
        }
        List<JwtKey> keys = [];
        if (root.TryGetProperty("keys", out var jwks))
        {
            if (jwks.ValueKind != JsonValueKind.Array)
            {
                problem = "[keys] in Jwks is not an array";
                return null;
            }
            foreach (var jwk in jwks.EnumerateArray())
            {
                if (TryReadJwk(jwk) is { } key)
                    keys.Add(key);
                else
                    skipped++;
            }
        }
        else
        {
            foreach (var entry in root.EnumerateObject())
            {
                if (TryReadCertificate(entry) is { } key)
                    keys.Add(key);
                else
                    skipped++;
            }
        }
        problem = keys.Count == 0 ? "Jwks doesn't have any valid public key" : null;
        return keys.Count == 0 ? null : new KeySet(keys);
    }

    private static JwtKey? TryReadJwk(JsonElement jwk)
    {
        if (jwk.ValueKind != JsonValueKind.Object)
            return null;
        try
        {
            var kid = StringOf(jwk, "kid");
            var alg = StringOf(jwk, "alg");
            // Keys meant for encryption, or whose key_ops exclude verify, never verify a signature.
            if (StringOf(jwk, "use") is { } use && use != "sig")
                return null;
            if (jwk.TryGetProperty("key_ops", out var ops) && (ops.ValueKind != JsonValueKind.Array || !ops.EnumerateArray().Any(o => o.ValueKind == JsonValueKind.String && o.GetString() == "verify")))
                return null;
            if (alg is not null && !JwtAlgorithm.Supported.ContainsKey(alg))
                return null;
            return StringOf(jwk, "kty") switch
            {
                "RSA" => ReadRsa(jwk, kid, alg),
                "EC" => ReadEc(jwk, kid, alg),
                "oct" => ReadHmac(jwk, kid, alg),
                _ => null,
            };
        }
        // InvalidOperationException: a string System.Text.Json cannot decode (invalid UTF-8, a lone surrogate).
        catch (Exception ex) when (ex is CryptographicException or InvalidOperationException)
        {
            return null;
        }
    }

    private static JwtKey? ReadRsa(JsonElement jwk, string? kid, string? alg)
    {
        if (alg is not null && !alg.StartsWith("RS", StringComparison.Ordinal) && !alg.StartsWith("PS", StringComparison.Ordinal))
            return null;
        if (!Base64UrlOf(jwk, "n", out var modulus) || !Base64UrlOf(jwk, "e", out var exponent))
            return null;
        var rsa = RSA.Create();
        rsa.ImportParameters(new RSAParameters { Modulus = TrimLeadingZeros(modulus), Exponent = TrimLeadingZeros(exponent) });
        return IsStrongRsa(rsa) ? JwtKey.ForRsa(kid, alg, rsa) : Dispose(rsa);
    }

    private static JwtKey? ReadEc(JsonElement jwk, string? kid, string? alg)
    {
        var (curve, size, expectedAlg) = StringOf(jwk, "crv") switch
        {
            "P-256" => (ECCurve.NamedCurves.nistP256, 32, "ES256"),
            "P-384" => (ECCurve.NamedCurves.nistP384, 48, "ES384"),
            "P-521" => (ECCurve.NamedCurves.nistP521, 66, "ES512"),
            _ => (default(ECCurve), 0, ""),
        };
        if (size == 0 || (alg is not null && alg != expectedAlg))
            return null;
        if (!Base64UrlOf(jwk, "x", out var x) || !Base64UrlOf(jwk, "y", out var y) || x.Length != size || y.Length != size)
            return null;
        var ec = ECDsa.Create(new ECParameters { Curve = curve, Q = new ECPoint { X = x, Y = y } });
        return JwtKey.ForEc(kid, alg, ec, size);
    }

    private static JwtKey? ReadHmac(JsonElement jwk, string? kid, string? alg)
    {
        if (alg is not null && !alg.StartsWith("HS", StringComparison.Ordinal))
            return null;
        // An empty or short secret is guessable (RFC 7518 §3.2: at least the hash size).
        return Base64UrlOf(jwk, "k", out var secret) && secret.Length >= MinHmacBytes ? JwtKey.ForHmac(kid, alg, secret) : null;
    }

    private static JwtKey? TryReadCertificate(JsonProperty entry)
    {
        if (entry.Value.ValueKind != JsonValueKind.String)
            return null;
        try
        {
            using var certificate = X509Certificate2.CreateFromPem(entry.Value.GetString());
            if (certificate.GetRSAPublicKey() is { } rsa)
                return IsStrongRsa(rsa) ? JwtKey.ForRsa(entry.Name, null, rsa) : Dispose(rsa);
            if (certificate.GetECDsaPublicKey() is { } ec)
            {
                // ES256/384/512 are P-256/384/521 only (RFC 7518 §3.4), as for JWKS keys: not any curve of that size.
                var size = ec.ExportParameters(false).Curve.Oid.Value switch
                {
                    "1.2.840.10045.3.1.7" => 32,
                    "1.3.132.0.34" => 48,
                    "1.3.132.0.35" => 66,
                    _ => 0,
                };
                if (size != 0)
                    return JwtKey.ForEc(entry.Name, null, ec, size);
                ec.Dispose();
            }
            return null;
        }
        catch (Exception ex) when (ex is CryptographicException or InvalidOperationException)
        {
            return null;
        }
    }

    private static bool IsStrongRsa(RSA rsa)
    {
        if (rsa.KeySize < MinRsaBits)
            return false;
        var exponent = rsa.ExportParameters(false).Exponent!;
        // e = 65537 or 3: anything else is a malformed or hostile key (jwt_verify_lib does the same).
        return exponent.AsSpan().SequenceEqual(new byte[] { 1, 0, 1 }) || exponent.AsSpan().SequenceEqual(new byte[] { 3 });
    }

    private static JwtKey? Dispose(RSA key)
    {
        key.Dispose();
        return null;
    }

    private static byte[] TrimLeadingZeros(byte[] value)
    {
        var start = 0;
        while (start < value.Length - 1 && value[start] == 0)
            start++;
        return start == 0 ? value : value[start..];
    }

    private static string? StringOf(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    /// <summary>JWK members are base64url; some publishers pad them, which is accepted here (keys are configuration, not tokens).</summary>
    private static bool Base64UrlOf(JsonElement element, string name, out byte[] bytes)
    {
        bytes = [];
        if (StringOf(element, name) is not { Length: > 0 } text)
            return false;
        return Base64Url.TryDecode(text.TrimEnd('='), out bytes) || TryLenientBase64(text, out bytes);
    }

    private static bool TryLenientBase64(string text, out byte[] bytes)
    {
        var normal = text.TrimEnd('=').Replace('-', '+').Replace('_', '/');
        normal = normal.PadRight(normal.Length + ((4 - (normal.Length % 4)) % 4), '=');
        bytes = new byte[normal.Length];
        if (Convert.TryFromBase64String(normal, bytes, out var written))
        {
            Array.Resize(ref bytes, written);
            return true;
        }
        bytes = [];
        return false;
    }
}
