using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using Esp.Auth.Jwt;
using Esp.Auth.Keys;
using Xunit;

namespace Esp.Tests.Auth;

/// <summary>
/// Reading what a jwks_uri returns (catalogue rows G7-G9, H3, H4, H8, H9): JWKS and Google's
/// certificate map by shape; unusable, weak or non-signature keys skipped; the set refused only
/// when nothing usable is left; a lying document never throws.
/// </summary>
public sealed class KeySetTests
{
    private static string Payload => TestTokens.Payload("https://issuer.test", ["aud"], 1700000000, 1700003600);

    /// <summary>The key set of <paramref name="document"/>, which must hold a usable key.</summary>
    internal static KeySet Parse(string document)
    {
        var keys = KeySetParser.Parse(Encoding.UTF8.GetBytes(document), out var problem, out _);
        Assert.True(keys is not null, $"no key set: {problem}");
        return keys;
    }

    private static (KeySet? Keys, string? Problem, int Skipped) TryParse(string document) => TryParse(Encoding.UTF8.GetBytes(document));

    private static (KeySet? Keys, string? Problem, int Skipped) TryParse(byte[] document)
    {
        var keys = KeySetParser.Parse(document, out var problem, out var skipped);
        return (keys, problem, skipped);
    }

    private static bool Verifies(KeySet keys, string token)
    {
        Assert.True(JwtParser.TryParse(token, out var parsed, out var failure), failure.Reason);
        return keys.Verify(parsed) is null;
    }

    [Fact]
    public void Parse_Jwks_EveryKeyType_AllRead()
    {
        var (keys, problem, skipped) = TryParse(TestKeys.DefaultJwks);

        Assert.Null(problem);
        Assert.Equal(0, skipped);
        Assert.Equal(["rsa-1", "rsa-any", "ps-256", "ec-256", "ec-384", "ec-521", "hmac-256", "hmac-any", "hmac-512"], keys!.Keys.Select(k => k.KeyId));
        Assert.Equal("RS256", keys.Keys[0].Algorithm);
        Assert.Null(keys.Keys[1].Algorithm);
    }

    [Fact]
    public void Parse_CertificateMap_RsaAndNistEcCertificates_KeysNamedByEntry()
    {
        var keys = Parse(TestTokens.CertificateMap(TestKeys.Rsa, TestKeys.Rsa2, TestKeys.Ec256, TestKeys.Ec384, TestKeys.Ec521));

        Assert.Equal(["rsa-1", "rsa-2", "ec-256", "ec-384", "ec-521"], keys.Keys.Select(k => k.KeyId));
        Assert.All(keys.Keys, k => Assert.Null(k.Algorithm));
        Assert.True(Verifies(keys, TestTokens.Create(TestKeys.Rsa, Payload)));
        Assert.True(Verifies(keys, TestTokens.Create(TestKeys.Rsa2, Payload, "PS256")));
        Assert.True(Verifies(keys, TestTokens.Create(TestKeys.Ec256, Payload)));
        Assert.True(Verifies(keys, TestTokens.Create(TestKeys.Ec521, Payload)));
        Assert.False(Verifies(keys, TestTokens.Create(TestKeys.Attacker, Payload)));
    }

    [Fact]
    public void Parse_JwksWithOtherMembers_ReadAsJwks()
    {
        var document = new JsonObject { ["issuer"] = "x", ["keys"] = new JsonArray(TestKeys.Rsa.JwkObject()) }.ToJsonString();

        Assert.Equal(["rsa-1"], Parse(document).Keys.Select(k => k.KeyId));
    }

    // ---- H3: nothing usable ----

    [Theory]
    [InlineData("H3 not JSON", "<html>Service Unavailable</html>")]
    [InlineData("H3 empty", "")]
    [InlineData("H3 truncated", """{"keys":[{"kty":"RSA",""")]
    [InlineData("H3 array", "[]")]
    [InlineData("H3 string", "\"keys\"")]
    [InlineData("H3 empty object", "{}")]
    [InlineData("H3 keys not an array", """{"keys":{}}""")]
    [InlineData("H3 keys a string", """{"keys":"rsa-1"}""")]
    [InlineData("H3 no keys", """{"keys":[]}""")]
    [InlineData("H3 only a bare RSA key", """{"keys":[{"kty":"RSA"}]}""")]
    [InlineData("H3 only garbage keys", """{"keys":[1,"x",null,[],{}]}""")]
    [InlineData("H3 certificate map of non-certificates", """{"k1":"not a certificate","k2":1,"k3":{}}""")]
    [InlineData("H3 deeply nested", """{"keys":[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]}""")]
    public void Parse_H3_NoUsableKey_NullWithProblem(string row, string document)
    {
        _ = row;
        var (keys, problem, _) = TryParse(document);

        Assert.Null(keys);
        Assert.False(string.IsNullOrEmpty(problem));
    }

    // ---- H4: mixed ----

    [Fact]
    public void Parse_H4_ValidAndInvalidKeysMixed_ValidUsedOthersSkipped()
    {
        var notOnCurve = TestKeys.Ec256.JwkObject();
        notOnCurve["kid"] = "off-curve";
        notOnCurve["y"] = TestTokens.B64(new byte[32]);
        var document = TestTokens.Jwks(
            """{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kid":"ed"}""",
            TestKeys.Rsa.Jwk(),
            "\"garbage\"",
            notOnCurve.ToJsonString(),
            """{"kty":"RSA","kid":"no-n","e":"AQAB"}""",
            TestKeys.Ec256.Jwk());

        var (keys, problem, skipped) = TryParse(document);

        Assert.Null(problem);
        Assert.Equal(4, skipped);
        Assert.Equal(["rsa-1", "ec-256"], keys!.Keys.Select(k => k.KeyId));
    }

    [Theory]
    [InlineData("no kty", """{"kid":"x","n":"AQAB","e":"AQAB"}""")]
    [InlineData("kty not a string", """{"kty":1,"kid":"x"}""")]
    [InlineData("unknown kty", """{"kty":"DSA","kid":"x"}""")]
    [InlineData("kty lowercase", """{"kty":"rsa","kid":"x"}""")]
    [InlineData("RSA n not a string", """{"kty":"RSA","kid":"x","n":1,"e":"AQAB"}""")]
    [InlineData("RSA no e", """{"kty":"RSA","kid":"x","n":"AQAB"}""")]
    [InlineData("RSA bad base64", """{"kty":"RSA","kid":"x","n":"!!!!","e":"AQAB"}""")]
    [InlineData("EC unknown curve", """{"kty":"EC","kid":"x","crv":"P-192","x":"AA","y":"AA"}""")]
    [InlineData("EC no curve", """{"kty":"EC","kid":"x","x":"AA","y":"AA"}""")]
    [InlineData("EC short x", """{"kty":"EC","kid":"x","crv":"P-256","x":"AA","y":"AA"}""")]
    [InlineData("oct no k", """{"kty":"oct","kid":"x"}""")]
    [InlineData("alg none", """{"kty":"oct","kid":"x","alg":"none","k":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}""")]
    [InlineData("oct alg RS256", """{"kty":"oct","kid":"x","alg":"RS256","k":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}""")]
    public void Parse_H4_MalformedJwk_Skipped(string row, string jwk)
    {
        _ = row;
        var (keys, _, skipped) = TryParse(TestTokens.Jwks(jwk, TestKeys.Rsa2.Jwk()));

        Assert.Equal(1, skipped);
        Assert.Equal(["rsa-2"], keys!.Keys.Select(k => k.KeyId));
    }

    [Theory]
    [InlineData("RSA key marked ES256", "rsa-1", "ES256")]
    [InlineData("RSA key marked HS256", "rsa-1", "HS256")]
    [InlineData("P-256 key marked ES384", "ec-256", "ES384")]
    [InlineData("P-521 key marked ES256", "ec-521", "ES256")]
    [InlineData("EC key marked RS256", "ec-256", "RS256")]
    [InlineData("oct key marked ES256", "hmac-256", "ES256")]
    [InlineData("alg not supported", "rsa-1", "RSA-OAEP")]
    public void Parse_C10_JwkAlgIncompatibleWithKey_Skipped(string row, string kid, string alg)
    {
        _ = row;
        var jwk = TestKeys.ByKid(kid).JwkObject();
        jwk["alg"] = alg;

        var (keys, _, skipped) = TryParse(TestTokens.Jwks(jwk.ToJsonString(), TestKeys.Rsa2.Jwk()));

        Assert.Equal(1, skipped);
        Assert.Equal(["rsa-2"], keys!.Keys.Select(k => k.KeyId));
    }

    [Fact]
    public void Parse_JwkMembersPaddedOrStandardBase64_Accepted()
    {
        // Keys are configuration: publishers that pad or use the standard alphabet still work.
        var p = TestKeys.Rsa.Rsa!.ExportParameters(false);
        var padded = TestKeys.Rsa.JwkObject();
        padded["e"] = "AQAB";
        padded["n"] = Convert.ToBase64String(p.Modulus!);
        padded["kid"] = "standard";

        var keys = Parse(TestTokens.Jwks(padded.ToJsonString()));

        Assert.True(Verifies(keys, TestTokens.Create(TestKeys.Rsa, Payload, kid: "standard")));
    }

    // ---- G7-G9: weak keys refused at load ----

    [Fact]
    public void Parse_G7_EmptyHmacKey_Skipped()
    {
        var (keys, problem, skipped) = TryParse("""{"keys":[{"kty":"oct","kid":"blank","k":""}]}""");

        Assert.Null(keys);
        Assert.Equal("Jwks doesn't have any valid public key", problem);
        Assert.Equal(1, skipped);
    }

    [Theory]
    [InlineData("G8 secret", 6)]
    [InlineData("G8 password1", 9)]
    [InlineData("G8 128 bits", 16)]
    [InlineData("G8 31 bytes", 31)]
    public void Parse_G8_ShortHmacKey_Skipped(string row, int length)
    {
        var secret = row[3..] switch
        {
            "secret" => "secret"u8.ToArray(),
            "password1" => "password1"u8.ToArray(),
            _ => RandomNumberGenerator.GetBytes(length),
        };
        Assert.Equal(length, secret.Length);

        var (keys, _, skipped) = TryParse(TestTokens.Jwks(TestKey.CreateHmac("weak", secret).Jwk(), TestKeys.Rsa2.Jwk()));

        Assert.Equal(1, skipped);
        Assert.Equal(["rsa-2"], keys!.Keys.Select(k => k.KeyId));
    }

    [Fact]
    public void Parse_G8_HmacKeyOf256Bits_Kept()
    {
        var keys = Parse(TestTokens.Jwks(TestKey.CreateHmac("ok", new byte[32]).Jwk()));

        Assert.Equal(["ok"], keys.Keys.Select(k => k.KeyId));
    }

    [Fact]
    public void Parse_G9_Rsa1024_SkippedAsJwkAndAsCertificate()
    {
        var weak = TestKey.CreateRsa("weak", 1024);

        var (fromJwks, _, skippedJwks) = TryParse(TestTokens.Jwks(weak.Jwk(), TestKeys.Rsa2.Jwk()));
        var (fromMap, _, skippedMap) = TryParse(TestTokens.CertificateMap(weak, TestKeys.Rsa2));

        Assert.Equal((1, 1), (skippedJwks, skippedMap));
        Assert.Equal(["rsa-2"], fromJwks!.Keys.Select(k => k.KeyId));
        Assert.Equal(["rsa-2"], fromMap!.Keys.Select(k => k.KeyId));
        Assert.Null(TryParse(TestTokens.Jwks(weak.Jwk())).Keys);
    }

    [Theory]
    [InlineData("G9 e=17", "EQ", false)]
    [InlineData("G9 e=1", "AQ", false)]
    [InlineData("G9 e=65539", "AQAD", false)]
    [InlineData("G9 e=2^32+1", "AQAAAAE", false)]
    [InlineData("G9 e=3", "Aw", true)]
    [InlineData("G9 e=65537", "AQAB", true)]
    [InlineData("G9 e=65537 with a leading zero", "AAEAAQ", true)]
    public void Parse_G9_RsaExponent_OnlyThreeOr65537(string row, string exponent, bool kept)
    {
        _ = row;
        var jwk = TestKeys.Rsa.JwkObject();
        jwk["e"] = exponent;

        var (keys, _, skipped) = TryParse(TestTokens.Jwks(jwk.ToJsonString(), TestKeys.Rsa2.Jwk()));

        Assert.Equal(kept ? 0 : 1, skipped);
        Assert.Equal(kept ? ["rsa-1", "rsa-2"] : ["rsa-2"], keys!.Keys.Select(k => k.KeyId));
    }

    // ---- H8, H9 ----

    [Theory]
    [InlineData("H8 use enc", """ "use":"enc" """, false)]
    [InlineData("H8 use empty", """ "use":"" """, false)]
    [InlineData("H8 key_ops encrypt", """ "key_ops":["encrypt","wrapKey"] """, false)]
    [InlineData("H8 key_ops empty", """ "key_ops":[] """, false)]
    [InlineData("H8 key_ops not a list", """ "key_ops":"verify" """, false)]
    [InlineData("H8 use sig", """ "use":"sig" """, true)]
    [InlineData("H8 key_ops verify", """ "key_ops":["sign","verify"] """, true)]
    public void Parse_H8_UseAndKeyOps_OnlySignatureKeysKept(string row, string member, bool kept)
    {
        _ = row;
        var jwk = TestKeys.Rsa.Jwk()[..^1] + "," + member.Trim() + "}";

        var (keys, _, skipped) = TryParse(TestTokens.Jwks(jwk, TestKeys.Rsa2.Jwk()));

        Assert.Equal(kept ? 0 : 1, skipped);
        Assert.Equal(kept ? ["rsa-1", "rsa-2"] : ["rsa-2"], keys!.Keys.Select(k => k.KeyId));
    }

    [Fact]
    public void Parse_H9_CertificateMapWithDsaCertificate_Skipped()
    {
        using var dsa = DSA.Create(1024);
        var request = new CertificateRequest(new X500DistinguishedName("CN=dsa"), new PublicKey(dsa), HashAlgorithmName.SHA256);
        var now = DateTimeOffset.UtcNow;
        using var certificate = request.Create(new X500DistinguishedName("CN=issuer"), X509SignatureGenerator.CreateForRSA(TestKeys.Rsa2.Rsa!, RSASignaturePadding.Pkcs1),
            now.AddDays(-1), now.AddDays(1), [1, 2, 3]);
        var map = new JsonObject { ["dsa"] = certificate.ExportCertificatePem(), ["rsa-2"] = TestKeys.Rsa2.CertificatePem() };

        var (keys, _, skipped) = TryParse(map.ToJsonString());

        Assert.Equal(1, skipped);
        Assert.Equal(["rsa-2"], keys!.Keys.Select(k => k.KeyId));
    }

    [Fact]
    public void Parse_H9_CertificateMapWithNonNistCurve_Skipped()
    {
        // brainpoolP256r1 has 32-byte coordinates like P-256, but ES256 means P-256 (RFC 7518 §3.4).
        using var brainpool = ECDsa.Create(ECCurve.NamedCurves.brainpoolP256r1);
        var now = DateTimeOffset.UtcNow;
        using var certificate = new CertificateRequest("CN=bp", brainpool, HashAlgorithmName.SHA256).CreateSelfSigned(now.AddDays(-1), now.AddDays(1));
        var map = new JsonObject { ["bp"] = certificate.ExportCertificatePem(), ["rsa-2"] = TestKeys.Rsa2.CertificatePem() };

        var (keys, _, skipped) = TryParse(map.ToJsonString());

        Assert.Equal(1, skipped);
        Assert.Equal(["rsa-2"], keys!.Keys.Select(k => k.KeyId));
    }

    // ---- A lying key server: strings System.Text.Json cannot decode ----

    [Fact]
    public void Parse_H4_UndecodableStringsInAKey_KeySkippedNeverThrows()
    {
        byte[] badKid = [.. "{\"kty\":\"RSA\",\"kid\":\""u8, 0xFF, .. "\",\"n\":\"AQAB\",\"e\":\"AQAB\"}"u8];
        var document = Encoding.UTF8.GetBytes("""{"keys":[""")
            .Concat(badKid)
            .Concat(Encoding.UTF8.GetBytes(","
                + """{"kty":"RSA","kid":"\ud800","n":"AQAB","e":"AQAB"}""" + ","
                + """{"kty":"EC","crv":"\udc00","kid":"x"}""" + ","
                + """{"\udc00":1,"kty":"RSA","n":"AQAB","e":"AQAB"}""" + ","
                + TestKeys.Rsa2.Jwk() + "]}"))
            .ToArray();

        var (keys, _, skipped) = TryParse(document);

        Assert.Equal(4, skipped);
        Assert.Equal(["rsa-2"], keys!.Keys.Select(k => k.KeyId));
    }

    [Fact]
    public void Parse_H3_UndecodableMemberNameAtTopLevel_DocumentRefusedNeverThrows()
    {
        var pem = new JsonObject { ["x"] = TestKeys.Rsa2.CertificatePem() }.ToJsonString();
        var document = """{"\ud800":1,""" + pem[1..];

        var (keys, problem, _) = TryParse(document);

        Assert.Null(keys);
        Assert.False(string.IsNullOrEmpty(problem));
    }
}
