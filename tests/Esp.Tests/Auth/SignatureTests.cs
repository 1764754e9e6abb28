using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Esp.Auth;
using Esp.Auth.Jwt;
using Esp.Auth.Keys;
using Esp.Grpc;
using Xunit;

namespace Esp.Tests.Auth;

/// <summary>
/// Signatures and key choice (catalogue rows G1-G8, G10, G11, C4, C5, C7-C11, C14): a token is
/// accepted only with an unaltered signature, made with the algorithm the token names, by a
/// published key of the family that algorithm belongs to.
/// </summary>
public sealed class SignatureTests
{
    private static readonly Lazy<KeySet> LazyDefaultKeys = new(() => KeySetTests.Parse(TestKeys.DefaultJwks));

    private static KeySet DefaultKeys => LazyDefaultKeys.Value;

    private static string Payload => TestTokens.Payload("https://issuer.test", ["aud"], 1700000000, 1700003600);

    private static AuthFailure? Verify(string token, KeySet? keys = null)
    {
        Assert.True(JwtParser.TryParse(token, out var parsed, out var malformed), $"did not parse: {malformed}");
        return (keys ?? DefaultKeys).Verify(parsed);
    }

    private static void AssertVerified(string token, KeySet? keys = null) =>
        Assert.True(Verify(token, keys) is null, $"refused: {Verify(token, keys)}");

    private static void AssertRefused(string token, string reason, KeySet? keys = null) =>
        AuthAssert.Failure(Verify(token, keys), StatusCode.Unauthenticated, reason);

    [Theory]
    [InlineData("RS256", "rsa-1")]
    [InlineData("RS384", "rsa-any")]
    [InlineData("RS512", "rsa-any")]
    [InlineData("PS256", "ps-256")]
    [InlineData("PS384", "rsa-any")]
    [InlineData("PS512", "rsa-any")]
    [InlineData("ES256", "ec-256")]
    [InlineData("ES384", "ec-384")]
    [InlineData("ES512", "ec-521")]
    [InlineData("HS256", "hmac-256")]
    [InlineData("HS384", "hmac-any")]
    [InlineData("HS512", "hmac-512")]
    public void Verify_EveryAlgorithm_GoodSignature_Verified(string alg, string kid)
    {
        var token = TestTokens.Create(TestKeys.ByKid(kid), Payload, alg);

        AssertVerified(token);
        // Without a kid, every key that fits the algorithm is tried.
        AssertVerified(TestTokens.Create(TestKeys.ByKid(kid), Payload, alg, kid: null));
    }

    // ---- G1-G6: altered signatures ----

    [Theory]
    [InlineData("G1 RS256", "rsa-1")]
    [InlineData("G1 PS256", "ps-256")]
    [InlineData("G1 ES256", "ec-256")]
    [InlineData("G1 HS256", "hmac-256")]
    public void Verify_G1_EverySingleBitFlip_VerificationFails(string row, string kid)
    {
        var token = TestTokens.Create(TestKeys.ByKid(kid), Payload);
        var signature = TestTokens.SignatureOf(token);
        AssertVerified(token);

        var accepted = new List<int>();
        for (var bit = 0; bit < signature.Length * 8; bit++)
        {
            var flipped = (byte[])signature.Clone();
            flipped[bit / 8] ^= (byte)(1 << (bit % 8));
            if (Verify(TestTokens.WithSignature(token, flipped)) != AuthFailure.VerificationFails)
                accepted.Add(bit);
        }

        Assert.True(accepted.Count == 0, $"{row}: flipping bits {string.Join(",", accepted)} did not give '{Reasons.VerificationFails}'");
    }

    [Theory]
    [InlineData("G2 RS256", "rsa-1")]
    [InlineData("G2 ES256", "ec-256")]
    [InlineData("G2 ES512", "ec-521")]
    [InlineData("G2 HS256", "hmac-256")]
    public void Verify_G2_EveryTruncation_VerificationFails(string row, string kid)
    {
        var token = TestTokens.Create(TestKeys.ByKid(kid), Payload);
        var signature = TestTokens.SignatureOf(token);

        var accepted = new List<int>();
        for (var length = 1; length < signature.Length; length++)
        {
            if (Verify(TestTokens.WithSignature(token, signature[..length])) != AuthFailure.VerificationFails)
                accepted.Add(length);
        }

        Assert.True(accepted.Count == 0, $"{row}: truncating to {string.Join(",", accepted)} bytes did not give '{Reasons.VerificationFails}'");
        // Nothing left is no signature at all: the token is malformed.
        Assert.False(JwtParser.TryParse(TestTokens.WithSignature(token, []), out _, out var failure));
        AuthAssert.Failure(failure, StatusCode.Unauthenticated, Reasons.BadFormat);
    }

    [Theory]
    [InlineData("G3 sub changed to admin")]
    [InlineData("G3 exp extended")]
    [InlineData("G3 claim added")]
    [InlineData("G3 aud changed")]
    [InlineData("G3 header typ removed")]
    [InlineData("G3 header kid moved to another entry of the same key")]
    public void Verify_G3_TamperedHeaderOrPayload_VerificationFails(string row)
    {
        var token = TestTokens.Create(TestKeys.Rsa, Payload);

        var tampered = row[3..] switch
        {
            "sub changed to admin" => TestTokens.WithPayload(token, Payload.Replace("user-1", "admin", StringComparison.Ordinal)),
            "exp extended" => TestTokens.WithPayload(token, Payload.Replace("1700003600", "1900003600", StringComparison.Ordinal)),
            "claim added" => TestTokens.WithPayload(token, Payload[..^1] + ""","admin":true}"""),
            "aud changed" => TestTokens.WithPayload(token, Payload.Replace("\"aud\":\"aud\"", "\"aud\":\"other\"", StringComparison.Ordinal)),
            "header typ removed" => TestTokens.WithHeader(token, """{"alg":"RS256","kid":"rsa-1"}"""),
            _ => TestTokens.WithHeader(token, """{"alg":"RS256","typ":"JWT","kid":"rsa-any"}"""),
        };

        AssertRefused(tampered, Reasons.VerificationFails);
    }

    [Theory]
    [InlineData("G4 P-256", "ec-256")]
    [InlineData("G4 P-384", "ec-384")]
    [InlineData("G4 P-521", "ec-521")]
    public void Verify_G4_PsychicSignatures_VerificationFails(string row, string kid)
    {
        _ = row;
        var key = TestKeys.ByKid(kid);
        var token = TestTokens.Create(key, Payload);
        var signature = TestTokens.SignatureOf(token);
        var size = signature.Length / 2;
        var (r, s) = (signature[..size], signature[size..]);
        var n = Order(key, size);
        var zero = new byte[size];

        byte[][] forged =
        [
            [.. zero, .. zero],     // CVE-2022-21449: r = s = 0
            [.. n, .. n],           // r = s = n
            [.. n, .. s],           // r = n
            [.. r, .. n],           // s = n
            [.. zero, .. s],        // r = 0
            [.. r, .. zero],        // s = 0
        ];

        AssertVerified(token);
        foreach (var candidate in forged)
            AssertRefused(TestTokens.WithSignature(token, candidate), Reasons.VerificationFails);
    }

    /// <summary>The curve order n, big-endian, left-padded to the coordinate size.</summary>
    private static byte[] Order(TestKey key, int size)
    {
        var order = key.Ec!.ExportExplicitParameters(false).Curve.Order!;
        var padded = new byte[size];
        order.CopyTo(padded, size - order.Length);
        return padded;
    }

    [Theory]
    [InlineData("G5 ES256", "ec-256")]
    [InlineData("G5 ES384", "ec-384")]
    [InlineData("G5 ES512", "ec-521")]
    public void Verify_G5_DerEncodedEcdsaSignature_VerificationFails(string row, string kid)
    {
        _ = row;
        var key = TestKeys.ByKid(kid);
        var header = TestTokens.B64(TestTokens.Header(key.Alg, key.Kid));
        var payload = TestTokens.B64(Payload);
        var der = key.SignDer(key.Alg, Encoding.ASCII.GetBytes(header + "." + payload));

        AssertRefused($"{header}.{payload}.{TestTokens.B64(der)}", Reasons.VerificationFails);
    }

    [Fact]
    public void Verify_G6_EcdsaSignatureOfWrongLength_VerificationFails()
    {
        var token = TestTokens.Create(TestKeys.Ec256, Payload);
        var signature = TestTokens.SignatureOf(token);
        var p384Signature = TestTokens.SignatureOf(TestTokens.Create(TestKeys.Ec384, Payload, "ES384"));

        AssertRefused(TestTokens.WithSignature(token, [.. signature, 0]), Reasons.VerificationFails);
        AssertRefused(TestTokens.WithSignature(token, [0, .. signature]), Reasons.VerificationFails);
        // r and s each left-padded with a zero byte: the same numbers, but not the JWS form.
        AssertRefused(TestTokens.WithSignature(token, [0, .. signature[..32], 0, .. signature[32..]]), Reasons.VerificationFails);
        AssertRefused(TestTokens.WithSignature(token, p384Signature), Reasons.VerificationFails);
    }

    // ---- G10, G11: algorithm switched, unpublished key ----

    [Theory]
    [InlineData("G10 RS256 to RS512", "RS256", "RS512", "rsa-any")]
    [InlineData("G10 RS512 to RS256", "RS512", "RS256", "rsa-any")]
    [InlineData("G10 PS256 to RS256", "PS256", "RS256", "rsa-any")]
    [InlineData("G10 RS256 to PS256", "RS256", "PS256", "rsa-any")]
    [InlineData("G10 HS256 to HS512", "HS256", "HS512", "hmac-any")]
    public void Verify_G10_AlgSwitchedKeepingSignature_VerificationFails(string row, string signedWith, string claimed, string kid)
    {
        _ = row;
        var token = TestTokens.Create(TestKeys.ByKid(kid), Payload, signedWith);

        AssertRefused(TestTokens.WithHeader(token, TestTokens.Header(claimed, kid)), Reasons.VerificationFails);
    }

    [Fact]
    public void Verify_G10_Es256RelabelledEs384_NoMatchingKey()
    {
        // The P-256 key only ever verifies ES256: the token cannot choose another curve's algorithm.
        var token = TestTokens.Create(TestKeys.Ec256, Payload);

        AssertRefused(TestTokens.WithHeader(token, TestTokens.Header("ES384", "ec-256")), Reasons.NoMatchingKey);
    }

    [Fact]
    public void Verify_G11_SignedByUnpublishedKeyWithPublishedKid_VerificationFails()
    {
        Assert.Equal(TestKeys.Rsa.Kid, TestKeys.Attacker.Kid);

        AssertRefused(TestTokens.Create(TestKeys.Attacker, Payload), Reasons.VerificationFails);
        AssertRefused(TestTokens.Create(TestKeys.Attacker, Payload, kid: null), Reasons.VerificationFails);
    }

    [Fact]
    public void Verify_G7G8_HmacWithEmptyOrGuessableSecret_Refused()
    {
        // The empty oct key is dropped when the set is read, so nothing can verify with it.
        var keys = KeySetTests.Parse(TestTokens.Jwks(TestKeys.Rsa.Jwk(), """{"kty":"oct","kid":"blank","k":""}"""));
        var blank = TestKey.CreateHmac("blank", []);
        var guessed = TestKey.CreateHmac("hmac-256", "secret"u8.ToArray());

        AssertRefused(TestTokens.Create(blank, Payload), Reasons.NoMatchingKey, keys);
        AssertRefused(TestTokens.Create(blank, Payload, kid: null), Reasons.NoMatchingKey, keys);
        AssertRefused(TestTokens.Create(guessed, Payload), Reasons.VerificationFails);
        AssertRefused(TestTokens.Create(guessed, Payload, kid: null), Reasons.VerificationFails);
    }

    // ---- C4, C5, C7, C14: key confusion and embedded keys ----

    [Theory]
    [InlineData("C4 SPKI DER as secret")]
    [InlineData("C4 PEM text as secret")]
    [InlineData("C4 modulus as secret")]
    [InlineData("C4 JWK text as secret")]
    public void Verify_C4_Hs256SignedWithRsaPublicKey_NoMatchingKey(string row)
    {
        var rsa = TestKeys.Rsa.Rsa!;
        var secret = row[3..] switch
        {
            "SPKI DER as secret" => rsa.ExportSubjectPublicKeyInfo(),
            "PEM text as secret" => Encoding.ASCII.GetBytes(rsa.ExportSubjectPublicKeyInfoPem()),
            "modulus as secret" => rsa.ExportParameters(false).Modulus!,
            _ => Encoding.UTF8.GetBytes(TestKeys.Rsa.Jwk()),
        };
        var forger = TestKey.CreateHmac("rsa-1", secret);
        var rsaOnly = KeySetTests.Parse(TestTokens.Jwks(TestKeys.Rsa.Jwk(), TestKeys.RsaAnyAlg.Jwk(includeAlg: false)));

        // An RSA key is never an HMAC secret, whether or not its JWK names an alg (Envoy: "Jwt
        // verification fails" for an alg-less key; we refuse before any HMAC is computed).
        AssertRefused(TestTokens.Create(forger, Payload, "HS256", "rsa-1"), Reasons.NoMatchingKey);
        AssertRefused(TestTokens.Create(forger, Payload, "HS256", "rsa-any"), Reasons.NoMatchingKey);
        AssertRefused(TestTokens.Create(forger, Payload, "HS256", kid: null), Reasons.NoMatchingKey, rsaOnly);
    }

    [Fact]
    public void Verify_C5_EmbeddedJwkOfAttacker_Ignored_VerificationFails()
    {
        var attackerJwk = TestKeys.Attacker.JwkObject();
        foreach (var kid in new[] { null, "rsa-1" })
        {
            var header = new JsonObject { ["alg"] = "RS256", ["jwk"] = attackerJwk.DeepClone() };
            if (kid is not null)
                header["kid"] = kid;

            AssertRefused(TestTokens.Sign(TestKeys.Attacker, header.ToJsonString(), Payload), Reasons.VerificationFails);
        }
    }

    [Fact]
    public void Verify_C7_EmbeddedX5cOfAttacker_Ignored_VerificationFails()
    {
        var pem = TestKeys.Attacker.CertificatePem();
        var der = pem.Split('\n').Where(l => !l.StartsWith("-----", StringComparison.Ordinal)).Aggregate("", (a, l) => a + l.Trim());
        var header = new JsonObject { ["alg"] = "RS256", ["x5c"] = new JsonArray(der) };

        AssertRefused(TestTokens.Sign(TestKeys.Attacker, header.ToJsonString(), Payload), Reasons.VerificationFails);
    }

    [Fact]
    public void Verify_C14_UnencodedPayloadB64False_VerificationFails()
    {
        // RFC 7797: the signature covers the raw payload. Without crit (which is refused) b64 is ignored,
        // so the signature is checked over the encoded payload and does not match.
        var header = TestTokens.B64("""{"alg":"RS256","kid":"rsa-1","b64":false}""");
        var signature = TestKeys.Rsa.Sign("RS256", Encoding.ASCII.GetBytes(header + "." + Payload));

        AssertRefused($"{header}.{TestTokens.B64(Payload)}.{TestTokens.B64(signature)}", Reasons.VerificationFails);
    }

    // ---- C8-C11: kid and alg against the key set ----

    [Theory]
    [InlineData("C8 path traversal", "../../dev/null")]
    [InlineData("C8 absolute path", "/dev/null")]
    [InlineData("C8 SQL", "' OR 1=1 --")]
    [InlineData("C8 shell", "$(sleep 10)")]
    [InlineData("C8 URL", "http://127.0.0.1:1/keys")]
    [InlineData("C8 case variant", "RSA-1")]
    [InlineData("C8 trailing space", "rsa-1 ")]
    [InlineData("C9 unknown", "rsa-404")]
    public void Verify_C8C9_KidNotPublished_NoMatchingKey(string row, string kid)
    {
        _ = row;
        AssertRefused(TestTokens.Create(TestKeys.Rsa, Payload, kid: kid), Reasons.NoMatchingKey);
    }

    [Fact]
    public void Verify_C8_TenKiBKid_NoMatchingKey() =>
        AssertRefused(TestTokens.Create(TestKeys.Rsa, Payload, kid: new string('k', 10 * 1024)), Reasons.NoMatchingKey);

    [Fact]
    public void Verify_C8_EmptyKid_TriesEveryKey()
    {
        AssertVerified(TestTokens.Create(TestKeys.Rsa, Payload, kid: null));
        AssertRefused(TestTokens.Sign(TestKeys.Attacker, """{"alg":"RS256","kid":""}""", Payload), Reasons.VerificationFails);
        AssertVerified(TestTokens.Sign(TestKeys.Rsa, """{"alg":"RS256","kid":""}""", Payload));
    }

    [Fact]
    public void Verify_C9_KeySetWithoutKids_EveryKeyTried()
    {
        var noKids = new JsonObject { ["keys"] = new JsonArray(RemoveKid(TestKeys.Rsa.JwkObject()), RemoveKid(TestKeys.Rsa2.JwkObject())) }.ToJsonString();
        var keys = KeySetTests.Parse(noKids);

        AssertRefused(TestTokens.Create(TestKeys.Attacker, Payload, kid: "rsa-404"), Reasons.VerificationFails, keys);
        AssertVerified(TestTokens.Create(TestKeys.Rsa2, Payload, kid: "whatever"), keys);
    }

    private static JsonObject RemoveKid(JsonObject jwk)
    {
        jwk.Remove("kid");
        return jwk;
    }

    [Theory]
    [InlineData("C10 ES256 token, ES512 key", "ES256", "ec-256", "ec-521")]
    [InlineData("C10 PS256 token, RS256 key", "PS256", "rsa-1", "rsa-1")]
    [InlineData("C10 RS256 token, PS256 key", "RS256", "rsa-1", "ps-256")]
    [InlineData("C10 HS256 token, HS512 key", "HS256", "hmac-256", "hmac-512")]
    [InlineData("C10 RS256 token, EC key", "RS256", "rsa-1", "ec-256")]
    [InlineData("C10 ES256 token, RSA key without alg", "ES256", "ec-256", "rsa-any")]
    [InlineData("C10 RS256 token, oct key without alg", "RS256", "rsa-1", "hmac-any")]
    [InlineData("C10 HS256 token, RSA key without alg", "HS256", "hmac-256", "rsa-any")]
    public void Verify_C10_AlgNotTheKeys_NoMatchingKey(string row, string alg, string signer, string kid)
    {
        _ = row;
        AssertRefused(TestTokens.Create(TestKeys.ByKid(signer), Payload, alg, kid), Reasons.NoMatchingKey);
    }

    [Fact]
    public void Verify_C11_Es256TokenAgainstP384KeyWithoutAlg_NoMatchingKey()
    {
        // Envoy says "Jwt verification fails" here; our key decides the curve, so no key matches.
        var keys = KeySetTests.Parse(TestTokens.Jwks(TestKeys.Ec384.Jwk(includeAlg: false)));

        AssertRefused(TestTokens.Create(TestKeys.Ec256, Payload, "ES256", "ec-384"), Reasons.NoMatchingKey, keys);
        AssertVerified(TestTokens.Create(TestKeys.Ec384, Payload, "ES384"), keys);
    }

    [Fact]
    public void Verify_G6_HmacTagOfWrongLength_VerificationFails()
    {
        // An HMAC-SHA512 tag cut to 32 bytes is not an HMAC-SHA256 tag, nor an acceptable HS512 one.
        var token = TestTokens.Create(TestKeys.Hmac512, Payload);
        var tag = TestTokens.SignatureOf(token);

        AssertRefused(TestTokens.WithSignature(token, tag[..32]), Reasons.VerificationFails);
        AssertRefused(TestTokens.WithSignature(token, [.. tag, .. tag]), Reasons.VerificationFails);
    }

    [Fact]
    public void Verify_G6_RsaSignatureOfWrongLength_VerificationFails()
    {
        var token = TestTokens.Create(TestKeys.Rsa, Payload);
        var signature = TestTokens.SignatureOf(token);

        AssertRefused(TestTokens.WithSignature(token, [0, .. signature]), Reasons.VerificationFails);
        AssertRefused(TestTokens.WithSignature(token, [.. signature, 0]), Reasons.VerificationFails);
        AssertRefused(TestTokens.WithSignature(token, RandomNumberGenerator.GetBytes(256)), Reasons.VerificationFails);
        AssertRefused(TestTokens.WithSignature(token, new byte[256]), Reasons.VerificationFails);
    }
}
