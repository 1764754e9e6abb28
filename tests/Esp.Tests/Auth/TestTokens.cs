using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Esp.Tests.Auth;

/// <summary>
/// A signing key for tests (RSA, ECDSA or HMAC) with its public forms: a JWK and a self-signed
/// certificate for Google's X.509 certificate map. <see cref="Alg"/> is what it signs with and
/// what its JWK names (unless the JWK is asked for without <c>alg</c>).
/// </summary>
internal sealed class TestKey
{
    // Shared by every TestKey over the same key material: signing is serialised per key.
    private readonly Lock _lock;

    private TestKey(string kid, string alg, Lock? sharedLock = null)
    {
        Kid = kid;
        Alg = alg;
        _lock = sharedLock ?? new Lock();
    }

    public string Kid { get; }

    public string Alg { get; }

    public RSA? Rsa { get; private init; }

    public ECDsa? Ec { get; private init; }

    public byte[]? Secret { get; private init; }

    public static TestKey CreateRsa(string kid, int bits = 2048, string alg = "RS256") => new(kid, alg) { Rsa = RSA.Create(bits) };

    /// <summary>An EC key on the curve <paramref name="alg"/> names (ES256: P-256, ES384: P-384, ES512: P-521).</summary>
    public static TestKey CreateEc(string kid, string alg = "ES256") => new(kid, alg) { Ec = ECDsa.Create(CurveOf(alg)) };

    public static TestKey CreateHmac(string kid, byte[] secret, string alg = "HS256") => new(kid, alg) { Secret = secret };

    /// <summary>The same key material under another kid and alg (e.g. an RSA key published once per algorithm).</summary>
    public TestKey As(string kid, string alg) => new(kid, alg, _lock) { Rsa = Rsa, Ec = Ec, Secret = Secret };

    public static ECCurve CurveOf(string alg) => alg switch
    {
        "ES256" => ECCurve.NamedCurves.nistP256,
        "ES384" => ECCurve.NamedCurves.nistP384,
        "ES512" => ECCurve.NamedCurves.nistP521,
        _ => throw new ArgumentException($"No curve for {alg}.", nameof(alg)),
    };

    public static HashAlgorithmName HashOf(string alg) => alg[2..] switch
    {
        "256" => HashAlgorithmName.SHA256,
        "384" => HashAlgorithmName.SHA384,
        "512" => HashAlgorithmName.SHA512,
        _ => throw new ArgumentException($"No hash for {alg}.", nameof(alg)),
    };

    /// <summary>The JWS signature of <paramref name="input"/> as <paramref name="alg"/> defines it (ECDSA: raw r‖s).</summary>
    public byte[] Sign(string alg, byte[] input)
    {
        var hash = HashOf(alg);
        lock (_lock)
        {
            return alg[..2] switch
            {
                "RS" => Rsa!.SignData(input, hash, RSASignaturePadding.Pkcs1),
                "PS" => Rsa!.SignData(input, hash, RSASignaturePadding.Pss),
                "ES" => Ec!.SignData(input, hash, DSASignatureFormat.IeeeP1363FixedFieldConcatenation),
                "HS" => HMAC(hash, input),
                _ => throw new ArgumentException($"Cannot sign with {alg}.", nameof(alg)),
            };
        }
    }

    /// <summary>ECDSA in the DER (ASN.1 SEQUENCE of r, s) form JWS does not allow.</summary>
    public byte[] SignDer(string alg, byte[] input)
    {
        lock (_lock)
            return Ec!.SignData(input, HashOf(alg), DSASignatureFormat.Rfc3279DerSequence);
    }

    private byte[] HMAC(HashAlgorithmName hash, byte[] input) => hash.Name switch
    {
        "SHA256" => HMACSHA256.HashData(Secret!, input),
        "SHA384" => HMACSHA384.HashData(Secret!, input),
        _ => HMACSHA512.HashData(Secret!, input),
    };

    /// <summary>The public JWK (for HMAC: the secret, <c>kty: oct</c>), with <c>alg</c> unless told otherwise.</summary>
    public JsonObject JwkObject(bool includeAlg = true)
    {
        var jwk = new JsonObject { ["kid"] = Kid };
        if (includeAlg)
            jwk["alg"] = Alg;
        if (Rsa is not null)
        {
            var p = Rsa.ExportParameters(false);
            jwk["kty"] = "RSA";
            jwk["n"] = TestTokens.B64(p.Modulus!);
            jwk["e"] = TestTokens.B64(p.Exponent!);
        }
        else if (Ec is not null)
        {
            var p = Ec.ExportParameters(false);
            jwk["kty"] = "EC";
            jwk["crv"] = p.Q.X!.Length switch { 32 => "P-256", 48 => "P-384", _ => "P-521" };
            jwk["x"] = TestTokens.B64(p.Q.X!);
            jwk["y"] = TestTokens.B64(p.Q.Y!);
        }
        else
        {
            jwk["kty"] = "oct";
            jwk["k"] = TestTokens.B64(Secret!);
        }
        return jwk;
    }

    public string Jwk(bool includeAlg = true) => JwkObject(includeAlg).ToJsonString();

    /// <summary>A self-signed certificate holding the public key, as PEM (Google's certificate map values).</summary>
    public string CertificatePem()
    {
        var now = DateTimeOffset.UtcNow;
        var request = Rsa is not null
            ? new CertificateRequest($"CN={Kid}", Rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)
            : new CertificateRequest($"CN={Kid}", Ec!, HashAlgorithmName.SHA256);
        lock (_lock)
        {
            using var certificate = request.CreateSelfSigned(now.AddDays(-1), now.AddDays(30));
            return certificate.ExportCertificatePem();
        }
    }
}

/// <summary>The keys the tests share (RSA generation is slow, so each is made once per run).</summary>
internal static class TestKeys
{
    private static readonly Lazy<TestKey> LazyRsa = new(() => TestKey.CreateRsa("rsa-1"));
    private static readonly Lazy<TestKey> LazyRsa2 = new(() => TestKey.CreateRsa("rsa-2"));
    private static readonly Lazy<TestKey> LazyAttacker = new(() => TestKey.CreateRsa("rsa-1"));
    private static readonly Lazy<TestKey> LazyEc256 = new(() => TestKey.CreateEc("ec-256", "ES256"));
    private static readonly Lazy<TestKey> LazyEc384 = new(() => TestKey.CreateEc("ec-384", "ES384"));
    private static readonly Lazy<TestKey> LazyEc521 = new(() => TestKey.CreateEc("ec-521", "ES512"));
    private static readonly Lazy<TestKey> LazyHmac = new(() => TestKey.CreateHmac("hmac-256", RandomNumberGenerator.GetBytes(32), "HS256"));
    private static readonly Lazy<TestKey> LazyHmac512 = new(() => TestKey.CreateHmac("hmac-512", RandomNumberGenerator.GetBytes(64), "HS512"));

    /// <summary>RSA 2048, kid <c>rsa-1</c>, RS256.</summary>
    public static TestKey Rsa => LazyRsa.Value;

    /// <summary>The same RSA key published without <c>alg</c> (kid <c>rsa-any</c>): any RS*/PS* token may use it.</summary>
    public static TestKey RsaAnyAlg => Rsa.As("rsa-any", "RS256");

    /// <summary>The same RSA key for PS256 (kid <c>ps-256</c>).</summary>
    public static TestKey RsaPss => Rsa.As("ps-256", "PS256");

    /// <summary>Another RSA key, kid <c>rsa-2</c> (rotation, other providers).</summary>
    public static TestKey Rsa2 => LazyRsa2.Value;

    /// <summary>A key nobody published, but with the published kid <c>rsa-1</c>.</summary>
    public static TestKey Attacker => LazyAttacker.Value;

    public static TestKey Ec256 => LazyEc256.Value;

    public static TestKey Ec384 => LazyEc384.Value;

    public static TestKey Ec521 => LazyEc521.Value;

    /// <summary>A 256-bit HMAC secret, kid <c>hmac-256</c>, HS256.</summary>
    public static TestKey Hmac => LazyHmac.Value;

    /// <summary>A 512-bit HMAC secret, kid <c>hmac-512</c>, HS512.</summary>
    public static TestKey Hmac512 => LazyHmac512.Value;

    /// <summary>The HMAC-256 secret published without <c>alg</c> (kid <c>hmac-any</c>): any HS* token may use it.</summary>
    public static TestKey HmacAnyAlg => Hmac.As("hmac-any", "HS256");

    private static readonly Lazy<Dictionary<string, TestKey>> Published = new(() =>
        new[] { Rsa, RsaAnyAlg, RsaPss, Ec256, Ec384, Ec521, Hmac, HmacAnyAlg, Hmac512 }.ToDictionary(k => k.Kid));

    /// <summary>A key of <see cref="DefaultJwks"/> by its kid.</summary>
    public static TestKey ByKid(string kid) => Published.Value[kid];

    /// <summary>
    /// What the test key server publishes by default: every kind of key, RSA also without alg
    /// (<c>rsa-any</c>) and for PSS, HMAC secrets as <c>oct</c> keys (also without alg: <c>hmac-any</c>).
    /// </summary>
    public static string DefaultJwks => TestTokens.Jwks(
        Rsa.Jwk(), RsaAnyAlg.Jwk(includeAlg: false), RsaPss.Jwk(), Ec256.Jwk(), Ec384.Jwk(), Ec521.Jwk(),
        Hmac.Jwk(), HmacAnyAlg.Jwk(includeAlg: false), Hmac512.Jwk());
}

/// <summary>
/// Compact JWS built by hand: header and payload are JSON text the test writes exactly (so it can
/// be malformed on purpose), signed with a <see cref="TestKey"/> or given any signature bytes.
/// </summary>
internal static class TestTokens
{
    public static string B64(byte[] bytes) => System.Buffers.Text.Base64Url.EncodeToString(bytes);

    public static string B64(string text) => B64(Encoding.UTF8.GetBytes(text));

    public static byte[] FromB64(string segment) => System.Buffers.Text.Base64Url.DecodeFromChars(segment);

    /// <summary>header.payload.signature from the JSON texts and signature bytes as given.</summary>
    public static string Compact(string headerJson, string payloadJson, byte[] signature) =>
        $"{B64(headerJson)}.{B64(payloadJson)}.{B64(signature)}";

    /// <summary>A token whose signature is a real one by <paramref name="key"/> (with <paramref name="alg"/>, default the key's).</summary>
    public static string Sign(TestKey key, string headerJson, string payloadJson, string? alg = null) =>
        SignRaw(key, B64(headerJson), B64(payloadJson), alg);

    /// <summary>Signs already-encoded segments (for payloads that are not UTF-8 text).</summary>
    public static string SignRaw(TestKey key, string headerSegment, string payloadSegment, string? alg = null)
    {
        var input = headerSegment + "." + payloadSegment;
        return input + "." + B64(key.Sign(alg ?? key.Alg, Encoding.ASCII.GetBytes(input)));
    }

    /// <summary><c>{"alg":..,"typ":"JWT","kid":..}</c>; no kid when <paramref name="kid"/> is null.</summary>
    public static string Header(string alg, string? kid) =>
        kid is null ? $$"""{"alg":"{{alg}}","typ":"JWT"}""" : $$"""{"alg":"{{alg}}","typ":"JWT","kid":{{JsonSerializer.Serialize(kid)}}}""";

    /// <summary>A token signed by <paramref name="key"/> with its kid and alg (unless overridden).</summary>
    public static string Create(TestKey key, string payloadJson, string? alg = null, string? kid = "") =>
        Sign(key, Header(alg ?? key.Alg, kid == "" ? key.Kid : kid), payloadJson, alg);

    /// <summary>
    /// A payload: <c>iss</c>, <c>sub</c>, <c>aud</c> (a string, or a list when several), <c>iat</c>,
    /// <c>exp</c>, each left out when null, then any <paramref name="extra"/> members.
    /// </summary>
    public static string Payload(string? iss, string[]? aud, long? iat, long? exp, string? sub = "user-1", JsonObject? extra = null)
    {
        var payload = new JsonObject();
        if (iss is not null)
            payload["iss"] = iss;
        if (sub is not null)
            payload["sub"] = sub;
        if (aud is { Length: 1 })
            payload["aud"] = aud[0];
        else if (aud is not null)
            payload["aud"] = new JsonArray(aud.Select(a => (JsonNode?)JsonValue.Create(a)).ToArray());
        if (iat is not null)
            payload["iat"] = iat;
        if (exp is not null)
            payload["exp"] = exp;
        if (extra is not null)
        {
            foreach (var (name, value) in extra)
                payload[name] = value?.DeepClone();
        }
        return payload.ToJsonString();
    }

    /// <summary><c>{"keys":[...]}</c> from JWK JSON texts.</summary>
    public static string Jwks(params string[] jwks) => $$"""{"keys":[{{string.Join(",", jwks)}}]}""";

    public static string Jwks(params TestKey[] keys) => Jwks(keys.Select(k => k.Jwk()).ToArray());

    /// <summary>Google's X.509 certificate map: <c>{"kid": "-----BEGIN CERTIFICATE-----..."}</c>.</summary>
    public static string CertificateMap(params TestKey[] keys)
    {
        var map = new JsonObject();
        foreach (var key in keys)
            map[key.Kid] = key.CertificatePem();
        return map.ToJsonString();
    }

    /// <summary>The token with its signature replaced by <paramref name="signature"/>.</summary>
    public static string WithSignature(string token, byte[] signature) => token[..(token.LastIndexOf('.') + 1)] + B64(signature);

    public static byte[] SignatureOf(string token) => FromB64(token[(token.LastIndexOf('.') + 1)..]);

    /// <summary>The token with a new payload and its original header and signature.</summary>
    public static string WithPayload(string token, string payloadJson)
    {
        var parts = token.Split('.');
        return $"{parts[0]}.{B64(payloadJson)}.{parts[2]}";
    }

    public static string WithHeader(string token, string headerJson)
    {
        var parts = token.Split('.');
        return $"{B64(headerJson)}.{parts[1]}.{parts[2]}";
    }
}
