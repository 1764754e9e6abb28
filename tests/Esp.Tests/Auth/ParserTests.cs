using System.Text;
using Esp.Auth;
using Esp.Auth.Jwt;
using Esp.Grpc;
using Xunit;

namespace Esp.Tests.Auth;

/// <summary>
/// Strict compact-JWS parsing (catalogue rows A10, B1-B11, C1-C3, C12, D1-D5): every malformed
/// token is refused with UNAUTHENTICATED and the exact reason, before any key is looked at.
/// </summary>
public sealed class ParserTests
{
    private const string GoodHeader = """{"alg":"RS256","typ":"JWT","kid":"k1"}""";
    private const string GoodPayload = """{"iss":"https://issuer.test","sub":"user-1","aud":"a","iat":1700000000,"exp":1700003600}""";
    private static readonly byte[] AnySignature = [1, 2, 3, 4, 5, 6, 7, 8];

    private static string Good => TestTokens.Compact(GoodHeader, GoodPayload, AnySignature);

    private static string WithHeader(string headerJson) => TestTokens.Compact(headerJson, GoodPayload, AnySignature);

    private static string WithPayload(string payloadJson) => TestTokens.Compact(GoodHeader, payloadJson, AnySignature);

    private static void AssertRefused(string token, string reason)
    {
        Assert.False(JwtParser.TryParse(token, out _, out var failure), "the token parsed");
        AuthAssert.Failure(failure, StatusCode.Unauthenticated, reason);
    }

    private static JwtToken Parse(string token)
    {
        Assert.True(JwtParser.TryParse(token, out var parsed, out var failure), $"refused: {failure}");
        return parsed;
    }

    [Fact]
    public void Parse_WellFormed_AllFieldsRead()
    {
        var token = TestTokens.Compact(GoodHeader,
            """{"iss":"https://issuer.test","sub":"user-1","email":"u@example.com","aud":["a","b"],"iat":1700000000,"nbf":1699999999,"exp":1700003600,"jti":"j"}""",
            AnySignature);

        var parsed = Parse(token);

        Assert.Equal("RS256", parsed.Algorithm.Name);
        Assert.Equal("k1", parsed.KeyId);
        Assert.Equal("https://issuer.test", parsed.Issuer);
        Assert.Equal("user-1", parsed.Subject);
        Assert.Equal("u@example.com", parsed.Email);
        Assert.Equal(["a", "b"], parsed.Audiences);
        Assert.Equal(1700003600, parsed.ExpiresAt);
        Assert.Equal(1699999999, parsed.NotBefore);
        Assert.Equal(AnySignature, parsed.Signature);
        Assert.Equal(Encoding.ASCII.GetBytes(token[..token.LastIndexOf('.')]), parsed.SigningInput);
        Assert.Equal(token.Split('.')[1], parsed.PayloadSegment);
    }

    [Fact]
    public void Reasons_CatalogueWording_Pinned()
    {
        // Clients and operators match on these strings (Envoy jwt_authn wording): they must not drift.
        AuthAssert.Failure(AuthFailure.Missing, StatusCode.Unauthenticated, Reasons.Missing);
        AuthAssert.Failure(AuthFailure.BadFormat, StatusCode.Unauthenticated, Reasons.BadFormat);
        AuthAssert.Failure(AuthFailure.HeaderBadBase64, StatusCode.Unauthenticated, Reasons.HeaderBadBase64);
        AuthAssert.Failure(AuthFailure.HeaderBadJson, StatusCode.Unauthenticated, Reasons.HeaderBadJson);
        AuthAssert.Failure(AuthFailure.HeaderBadAlg, StatusCode.Unauthenticated, Reasons.HeaderBadAlg);
        AuthAssert.Failure(AuthFailure.HeaderAlgNotImplemented, StatusCode.Unauthenticated, Reasons.AlgNotSupported);
        AuthAssert.Failure(AuthFailure.HeaderBadKid, StatusCode.Unauthenticated, Reasons.HeaderBadKid);
        AuthAssert.Failure(AuthFailure.PayloadBadBase64, StatusCode.Unauthenticated, Reasons.PayloadBadBase64);
        AuthAssert.Failure(AuthFailure.PayloadBadJson, StatusCode.Unauthenticated, Reasons.PayloadBadJson);
        AuthAssert.Failure(AuthFailure.SignatureBadBase64, StatusCode.Unauthenticated, Reasons.SignatureBadBase64);
        AuthAssert.Failure(AuthFailure.UnknownIssuer, StatusCode.Unauthenticated, Reasons.UnknownIssuer);
        AuthAssert.Failure(AuthFailure.AudienceNotAllowed, StatusCode.PermissionDenied, Reasons.AudienceNotAllowed);
        AuthAssert.Failure(AuthFailure.Expired, StatusCode.Unauthenticated, Reasons.Expired);
        AuthAssert.Failure(AuthFailure.NotYetValid, StatusCode.Unauthenticated, Reasons.NotYetValid);
        AuthAssert.Failure(AuthFailure.VerificationFails, StatusCode.Unauthenticated, Reasons.VerificationFails);
        AuthAssert.Failure(AuthFailure.NoMatchingKey, StatusCode.Unauthenticated, Reasons.NoMatchingKey);
        AuthAssert.Failure(AuthFailure.KeysFetchFailed, StatusCode.Unauthenticated, Reasons.FetchFailed);
        Assert.Equal("JWT validation failed: Jwt is expired", AuthFailure.Expired.ToStatus().Detail);
    }

    // ---- A10: size cap ----

    [Fact]
    public void Parse_A10_LongerThan16KiB_TooLarge()
    {
        var token = TestTokens.Compact(GoodHeader, GoodPayload, new byte[12 * 1024 + 1]);
        Assert.True(token.Length > JwtParser.MaxTokenLength);

        AssertRefused(token, Reasons.TooLarge);
        AssertRefused(new string('a', JwtParser.MaxTokenLength + 1), Reasons.TooLarge);
    }

    [Fact]
    public void Parse_A10_Exactly16KiB_ParsedAndOneMore_TooLarge()
    {
        // header.payload. then a signature of 'A's (zero bits, so always canonical) up to the cap.
        var prefix = "";
        for (var pad = 0; prefix.Length == 0 || (JwtParser.MaxTokenLength - prefix.Length) % 4 == 1; pad++)
        {
            var token = WithPayload($$"""{"pad":"{{new string('x', pad)}}"}""");
            prefix = token[..(token.LastIndexOf('.') + 1)];
        }
        var atCap = prefix + new string('A', JwtParser.MaxTokenLength - prefix.Length);
        Assert.Equal(JwtParser.MaxTokenLength, atCap.Length);

        Parse(atCap);
        AssertRefused(atCap + "A", Reasons.TooLarge);
    }

    // ---- B1-B3: structure ----

    [Theory]
    [InlineData("B1 empty", "")]
    [InlineData("B1 no dots", "invalidToken")]
    [InlineData("B1 five sections", "aaa.bbb.ccc.ddd.eee")]
    [InlineData("B1 four sections", "aaa.bbb.ccc.ddd")]
    [InlineData("B1 two sections", "aaa.bbb")]
    [InlineData("B1 dots only", "..")]
    [InlineData("B2 empty signature", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.")]
    [InlineData("B2 empty payload", "eyJhbGciOiJub25lIn0..c2ln")]
    [InlineData("B2 empty header", ".eyJzdWIiOiJ4In0.c2ln")]
    public void Parse_B1B2_NotThreeNonEmptySections_BadFormat(string row, string token)
    {
        _ = row;
        AssertRefused(token, Reasons.BadFormat);
    }

    [Fact]
    public void Parse_B1_TenKiBWithoutDots_BadFormat() => AssertRefused(new string('a', 10 * 1024), Reasons.BadFormat);

    [Theory]
    [InlineData("B3 h..p.s")]
    [InlineData("B3 .h.p.s")]
    [InlineData("B3 h.p.s.")]
    [InlineData("B3 h.p..s")]
    [InlineData("B3 h.p.s..")]
    public void Parse_B3_ExtraEmptySegments_BadFormat(string row)
    {
        var parts = Good.Split('.');
        var (h, p, s) = (parts[0], parts[1], parts[2]);
        var token = row[3..] switch
        {
            "h..p.s" => $"{h}..{p}.{s}",
            ".h.p.s" => $".{h}.{p}.{s}",
            "h.p.s." => $"{h}.{p}.{s}.",
            "h.p..s" => $"{h}.{p}..{s}",
            _ => $"{h}.{p}.{s}..",
        };

        AssertRefused(token, Reasons.BadFormat);
    }

    // ---- B4-B7: base64url ----

    [Theory]
    [InlineData("B4 + in header", 0, '+')]
    [InlineData("B4 / in header", 0, '/')]
    [InlineData("B4 + in payload", 1, '+')]
    [InlineData("B4 / in payload", 1, '/')]
    [InlineData("B4 + in signature", 2, '+')]
    [InlineData("B4 / in signature", 2, '/')]
    [InlineData("B4 space in payload", 1, ' ')]
    [InlineData("B4 * in signature", 2, '*')]
    public void Parse_B4_StandardBase64Characters_BadBase64OfThatSegment(string row, int segment, char bad)
    {
        _ = row;
        var parts = Good.Split('.');
        parts[segment] = bad + parts[segment][1..];

        AssertRefused(string.Join('.', parts), segment switch
        {
            0 => Reasons.HeaderBadBase64,
            1 => Reasons.PayloadBadBase64,
            _ => Reasons.SignatureBadBase64,
        });
    }

    [Fact]
    public void Parse_B5_SegmentLengthOneMod4_BadBase64OfThatSegment()
    {
        var parts = Good.Split('.');
        var header = parts[0];
        while (header.Length % 4 != 1)
            header += "A";

        AssertRefused($"{parts[0]}.{parts[1]}.invalid-signature", Reasons.SignatureBadBase64);
        AssertRefused($"{parts[0]}.{parts[1]}.A", Reasons.SignatureBadBase64);
        AssertRefused($"{header}.{parts[1]}.{parts[2]}", Reasons.HeaderBadBase64);
    }

    [Theory]
    [InlineData("B6 padded header", 0)]
    [InlineData("B6 padded payload", 1)]
    [InlineData("B6 padded signature", 2)]
    public void Parse_B6_Padding_BadBase64OfThatSegment(string row, int segment)
    {
        _ = row;
        // Segments whose length is not a multiple of 4, then padded as standard base64 would be.
        var token = TestTokens.Compact("""{"alg":"RS256" }""", """{"sub":"abc"}""", [1, 2, 3, 4]);
        var parts = token.Split('.');
        Assert.NotEqual(0, parts[segment].Length % 4);
        parts[segment] += new string('=', 4 - (parts[segment].Length % 4));

        AssertRefused(string.Join('.', parts), segment switch
        {
            0 => Reasons.HeaderBadBase64,
            1 => Reasons.PayloadBadBase64,
            _ => Reasons.SignatureBadBase64,
        });
    }

    [Fact]
    public void Parse_B6_NonCanonicalTrailingBits_BadBase64()
    {
        // "AQ" is the one spelling of byte 0x01; "AR" sets a bit the decoder would drop.
        var parts = Good.Split('.');
        Parse($"{parts[0]}.{parts[1]}.AQ");
        AssertRefused($"{parts[0]}.{parts[1]}.AR", Reasons.SignatureBadBase64);

        // A 16-byte header: its last character carries 4 unused bits; set one.
        var header = TestTokens.B64("""{"alg":"RS256" }""");
        Assert.Equal(2, header.Length % 4);
        Parse($"{header}.{parts[1]}.{parts[2]}");
        var tweaked = header[..^1] + (char)(header[^1] + 1);
        AssertRefused($"{tweaked}.{parts[1]}.{parts[2]}", Reasons.HeaderBadBase64);
    }

    [Theory]
    [InlineData("B7 space and garbage", " extra")]
    [InlineData("B7 tab", "\t")]
    [InlineData("B7 comma and second token", ", Bearer x")]
    public void Parse_B7_GarbageAfterToken_SignatureBadBase64(string row, string tail)
    {
        _ = row;
        AssertRefused(Good + tail, Reasons.SignatureBadBase64);
    }

    // ---- B8-B11: JSON ----

    [Theory]
    [InlineData("B8 array", "[]")]
    [InlineData("B8 string", "\"x\"")]
    [InlineData("B8 number", "123")]
    [InlineData("B8 null", "null")]
    [InlineData("B8 truncated", """{"alg":"RS256""")]
    [InlineData("B8 trailing comma", """{"alg":"RS256",}""")]
    [InlineData("B8 two objects", """{"alg":"RS256"}{}""")]
    [InlineData("B8 comment", """{"alg":"RS256"/*x*/}""")]
    [InlineData("B10 duplicate alg", """{"alg":"RS256","alg":"none"}""")]
    [InlineData("B10 duplicate kid", """{"alg":"RS256","kid":"a","kid":"b"}""")]
    [InlineData("B9 escaped lone surrogate in kid", """{"alg":"RS256","kid":"\ud800"}""")]
    [InlineData("B9 escaped lone surrogate in a name", """{"alg":"RS256","\udc00":1}""")]
    public void Parse_B8B9B10_HeaderNotAJsonObject_HeaderBadJson(string row, string headerJson)
    {
        _ = row;
        AssertRefused(WithHeader(headerJson), Reasons.HeaderBadJson);
    }

    [Theory]
    [InlineData("B8 array", "[]")]
    [InlineData("B8 string", "\"x\"")]
    [InlineData("B8 number", "123")]
    [InlineData("B8 truncated", """{"iss":"a",""")]
    [InlineData("B10 duplicate exp", """{"iss":"https://issuer.test","exp":1,"exp":99999999999}""")]
    [InlineData("B10 duplicate iss", """{"iss":"https://issuer.test","iss":"https://evil.test"}""")]
    [InlineData("B10 duplicate inside a claim", """{"iss":"https://issuer.test","roles":{"admin":false,"admin":true}}""")]
    [InlineData("B10 duplicate inside an array", """{"iss":"x","list":[{"a":1,"a":2}]}""")]
    [InlineData("B9 escaped lone surrogate in iss", """{"iss":"\ud800"}""")]
    [InlineData("B9 escaped lone surrogate in a claim", """{"iss":"x","name":"\udfff\ud800"}""")]
    public void Parse_B8B9B10_PayloadNotAJsonObject_PayloadBadJson(string row, string payloadJson)
    {
        _ = row;
        AssertRefused(WithPayload(payloadJson), Reasons.PayloadBadJson);
    }

    [Fact]
    public void Parse_B9_InvalidUtf8_BadJson()
    {
        byte[] badHeader = [.. "{\"alg\":\"RS256\",\"kid\":\""u8, 0xFF, 0xFE, .. "\"}"u8];
        byte[] badPayload = [.. "{\"iss\":\"x\",\"name\":\""u8, 0xC3, .. "\"}"u8];
        byte[] overlong = [.. "{\"iss\":\"x\",\"name\":\""u8, 0xC0, 0xAF, .. "\"}"u8];
        var header = TestTokens.B64(GoodHeader);
        var payload = TestTokens.B64(GoodPayload);
        var signature = TestTokens.B64(AnySignature);

        AssertRefused($"{TestTokens.B64(badHeader)}.{payload}.{signature}", Reasons.HeaderBadJson);
        AssertRefused($"{header}.{TestTokens.B64(badPayload)}.{signature}", Reasons.PayloadBadJson);
        AssertRefused($"{header}.{TestTokens.B64(overlong)}.{signature}", Reasons.PayloadBadJson);
    }

    [Fact]
    public void Parse_B9_ValidUnicode_Parsed()
    {
        var parsed = Parse(WithPayload("""{"iss":"x","sub":"Zoë \ud83d\ude00 ✓"}"""));

        Assert.Equal("Zoë 😀 ✓", parsed.Subject);
    }

    [Fact]
    public void Parse_B11_DeepNesting_PayloadBadJson()
    {
        var deep = new string('[', 40) + new string(']', 40);
        AssertRefused(WithPayload($$"""{"iss":"x","deep":{{deep}}}"""), Reasons.PayloadBadJson);
        AssertRefused(WithHeader($$"""{"alg":"RS256","deep":{{deep}}}"""), Reasons.HeaderBadJson);

        var shallow = new string('[', 20) + new string(']', 20);
        Parse(WithPayload($$"""{"iss":"x","deep":{{shallow}}}"""));
    }

    [Fact]
    public void Parse_B11_ThousandClaims_ParsedWithinTheSizeCap()
    {
        var claims = string.Join(",", Enumerable.Range(0, 1000).Select(i => $"\"c{i}\":{i}"));

        var parsed = Parse(WithPayload($$"""{"iss":"x",{{claims}}}"""));

        Assert.Equal("x", parsed.Issuer);
    }

    // ---- C1-C3, C5-C8, C12: header fields ----

    [Theory]
    [InlineData("C1 missing", """{"typ":"JWT"}""")]
    [InlineData("C1 number", """{"alg":256}""")]
    [InlineData("C1 null", """{"alg":null}""")]
    [InlineData("C1 array", """{"alg":["RS256"]}""")]
    [InlineData("C1 object", """{"alg":{"name":"RS256"}}""")]
    [InlineData("C1 Alg capitalised", """{"Alg":"RS256"}""")]
    public void Parse_C1_AlgMissingOrNotString_HeaderBadAlg(string row, string headerJson)
    {
        _ = row;
        AssertRefused(WithHeader(headerJson), Reasons.HeaderBadAlg);
    }

    [Theory]
    [InlineData("C2 none")]
    [InlineData("C2 None")]
    [InlineData("C2 NONE")]
    [InlineData("C2 nOnE")]
    [InlineData("C2 HS1")]
    [InlineData("C2 InvalidAlg")]
    [InlineData("C2 RS256 ")]
    [InlineData("C2  RS256")]
    [InlineData("C2 rs256")]
    [InlineData("C2 EdDSA")]
    [InlineData("C2 ES256K")]
    [InlineData("C2 RSA-OAEP")]
    [InlineData("C2 ")]
    public void Parse_C2_AlgNotSupported_AlgNotSupported(string row)
    {
        var alg = row[3..];
        AssertRefused(WithHeader($$"""{"alg":"{{alg}}"}"""), Reasons.AlgNotSupported);
    }

    [Theory]
    [InlineData("C2 RS256")]
    [InlineData("C2 RS384")]
    [InlineData("C2 RS512")]
    [InlineData("C2 PS256")]
    [InlineData("C2 PS384")]
    [InlineData("C2 PS512")]
    [InlineData("C2 ES256")]
    [InlineData("C2 ES384")]
    [InlineData("C2 ES512")]
    [InlineData("C2 HS256")]
    [InlineData("C2 HS384")]
    [InlineData("C2 HS512")]
    public void Parse_C2_SupportedAlg_Parsed(string row)
    {
        var alg = row[3..];
        Assert.Equal(alg, Parse(WithHeader($$"""{"alg":"{{alg}}"}""")).Algorithm.Name);
    }

    [Theory]
    [InlineData("C3 number", """{"alg":"RS256","kid":1}""")]
    [InlineData("C3 object", """{"alg":"RS256","kid":{}}""")]
    [InlineData("C3 array", """{"alg":"RS256","kid":["k1"]}""")]
    [InlineData("C3 null", """{"alg":"RS256","kid":null}""")]
    [InlineData("C3 boolean", """{"alg":"RS256","kid":true}""")]
    public void Parse_C3_KidNotString_HeaderBadKid(string row, string headerJson)
    {
        _ = row;
        AssertRefused(WithHeader(headerJson), Reasons.HeaderBadKid);
    }

    [Fact]
    public void Parse_C8_EmptyKid_TreatedAsNoKid()
    {
        Assert.Null(Parse(WithHeader("""{"alg":"RS256","kid":""}""")).KeyId);
        Assert.Null(Parse(WithHeader("""{"alg":"RS256"}""")).KeyId);
    }

    [Fact]
    public void Parse_C8_TenKiBKid_ParsedAsAnOrdinaryString()
    {
        var kid = new string('k', 10 * 1024);

        Assert.Equal(kid, Parse(WithHeader($$"""{"alg":"RS256","kid":"{{kid}}"}""")).KeyId);
    }

    [Theory]
    [InlineData("C12 unknown extension", """{"alg":"RS256","crit":["unknown-ext"]}""")]
    [InlineData("C12 b64 (RFC 7797)", """{"alg":"RS256","b64":false,"crit":["b64"]}""")]
    [InlineData("C12 empty list", """{"alg":"RS256","crit":[]}""")]
    [InlineData("C12 not a list", """{"alg":"RS256","crit":"exp"}""")]
    public void Parse_C12_Crit_UnknownCrit(string row, string headerJson)
    {
        _ = row;
        AssertRefused(WithHeader(headerJson), Reasons.UnknownCrit);
    }

    [Theory]
    [InlineData("C5 jwk", """{"alg":"RS256","jwk":{"kty":"oct","k":"c2VjcmV0"}}""")]
    [InlineData("C6 jku", """{"alg":"RS256","jku":"https://evil.test/jwks"}""")]
    [InlineData("C6 x5u", """{"alg":"RS256","x5u":"https://evil.test/cert"}""")]
    [InlineData("C7 x5c", """{"alg":"RS256","x5c":["MIIB"]}""")]
    [InlineData("C13 typ at+jwt", """{"alg":"RS256","typ":"at+jwt"}""")]
    [InlineData("C14 b64 without crit", """{"alg":"RS256","b64":false}""")]
    public void Parse_C5C6C7C13C14_KeyCarryingAndUnenforcedHeaders_ParsedAndIgnored(string row, string headerJson)
    {
        _ = row;
        // Accepted by the parser; the keys they name are never used (see AuthenticatorTests, SignatureTests).
        Assert.Equal("RS256", Parse(WithHeader(headerJson)).Algorithm.Name);
    }

    // ---- D1-D5: claim types ----

    [Theory]
    [InlineData("D1 iss true", """{"iss":true}""", "iss")]
    [InlineData("D1 iss number", """{"iss":1}""", "iss")]
    [InlineData("D1 iss null", """{"iss":null}""", "iss")]
    [InlineData("D1 sub 123", """{"iss":"x","sub":123}""", "sub")]
    [InlineData("D1 sub object", """{"iss":"x","sub":{}}""", "sub")]
    [InlineData("D1 jti 123", """{"iss":"x","jti":123}""", "jti")]
    [InlineData("D1 email list", """{"iss":"x","email":["a@b"]}""", "email")]
    public void Parse_D1_StringClaimNotString_NotAString(string row, string payloadJson, string claim)
    {
        _ = row;
        AssertRefused(WithPayload(payloadJson), $"Jwt payload [{claim}] field is not a string");
    }

    [Theory]
    [InlineData("D2 iat string", """{"iat":"123"}""", "iat")]
    [InlineData("D2 nbf boolean", """{"nbf":true}""", "nbf")]
    [InlineData("D2 exp null", """{"exp":null}""", "exp")]
    [InlineData("D2 exp string", """{"exp":"1700000000"}""", "exp")]
    [InlineData("D2 exp list", """{"exp":[1700000000]}""", "exp")]
    [InlineData("D2 exp object", """{"exp":{}}""", "exp")]
    public void Parse_D2_TimeClaimNotNumber_NotAnInteger(string row, string payloadJson, string claim)
    {
        _ = row;
        AssertRefused(WithPayload(payloadJson), $"Jwt payload [{claim}] field is not an integer");
    }

    [Theory]
    [InlineData("D3 iat negative", """{"iat":-1}""", "iat")]
    [InlineData("D3 nbf huge", """{"nbf":2.001e+206}""", "nbf")]
    [InlineData("D3 exp 2^64", """{"exp":18446744073709551616}""", "exp")]
    [InlineData("D3 exp above long", """{"exp":9300000000000000000}""", "exp")]
    [InlineData("D3 exp negative fraction", """{"exp":-0.5}""", "exp")]
    [InlineData("D3 exp infinite", """{"exp":1e400}""", "exp")]
    [InlineData("D3 exp minus infinite", """{"exp":-1e400}""", "exp")]
    public void Parse_D3_TimeClaimOutOfRange_OutOfRange(string row, string payloadJson, string claim)
    {
        _ = row;
        AssertRefused(WithPayload(payloadJson), $"Jwt payload [{claim}] field is not a positive 64 bit integer");
    }

    [Fact]
    public void Parse_D4_FractionalTimes_TruncatedNeverRoundedUp()
    {
        var parsed = Parse(WithPayload("""{"exp":1700000000.9,"nbf":1699999999.999,"iat":1e9}"""));

        Assert.Equal(1700000000, parsed.ExpiresAt);
        Assert.Equal(1699999999, parsed.NotBefore);
        Assert.Equal(1700000000, Parse(WithPayload("""{"exp":1.7e9}""")).ExpiresAt);
        Assert.Equal(0, Parse(WithPayload("""{"exp":0}""")).ExpiresAt);
        Assert.Null(Parse(WithPayload("""{"iss":"x"}""")).ExpiresAt);
    }

    [Theory]
    [InlineData("D5 number", """{"aud":1234567}""")]
    [InlineData("D5 list of numbers", """{"aud":[1,2]}""")]
    [InlineData("D5 mixed list", """{"aud":["ok",5]}""")]
    [InlineData("D5 object", """{"aud":{"a":"b"}}""")]
    [InlineData("D5 boolean", """{"aud":true}""")]
    [InlineData("D5 null", """{"aud":null}""")]
    [InlineData("D5 nested list", """{"aud":[["a"]]}""")]
    public void Parse_D5_AudNotStringOrList_AudNotStringOrList(string row, string payloadJson)
    {
        _ = row;
        AssertRefused(WithPayload(payloadJson), Reasons.AudNotStringOrList);
    }

    [Fact]
    public void Parse_D5_AudStringOrListOrEmpty_Parsed()
    {
        Assert.Equal(["a"], Parse(WithPayload("""{"aud":"a"}""")).Audiences);
        Assert.Equal(["a", "b"], Parse(WithPayload("""{"aud":["a","b"]}""")).Audiences);
        Assert.Empty(Parse(WithPayload("""{"aud":[]}""")).Audiences);
        Assert.Empty(Parse(WithPayload("""{}""")).Audiences);
    }

    [Fact]
    public void Parse_D7_LongClaims_Parsed()
    {
        var sub = new string('s', 8000);

        Assert.Equal(sub, Parse(WithPayload($$"""{"iss":"x","sub":"{{sub}}"}""")).Subject);
    }
}
