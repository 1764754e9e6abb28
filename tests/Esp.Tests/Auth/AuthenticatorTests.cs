using System.Text.Json.Nodes;
using Esp.Auth;
using Esp.Grpc;
using Esp.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Xunit;
using static Esp.Tests.Auth.AuthHarness;

namespace Esp.Tests.Auth;

/// <summary>
/// The whole check on a request (catalogue rows A1-A8, A10, B7, C6, C8, D6, D7, E1-E4, F1-F7):
/// where tokens are looked for, that every token found must pass, and the order of checks
/// (issuer, time and audience before any key is fetched).
/// </summary>
public sealed class AuthenticatorTests(SharedKeyServer shared) : IClassFixture<SharedKeyServer>, IAsyncLifetime
{
    private AuthHarness _auth = null!;

    public async Task InitializeAsync() => _auth = await StartAsync(sharedServer: shared.Server);

    public async Task DisposeAsync() => await _auth.DisposeAsync();

    private int AllFetches => _auth.FetchCount("main") + _auth.FetchCount("other") + _auth.FetchCount("custom");

    [Fact]
    public async Task Authenticate_GoodToken_VerifiedWithIdentity()
    {
        var token = _auth.Token(extra: new JsonObject { ["email"] = "user@example.com" });

        var identity = AuthAssert.Verified(await _auth.BearerAsync(token));

        Assert.Equal(token, identity.Raw);
        Assert.Equal("user-1", identity.Subject);
        Assert.Equal(Issuer, identity.Issuer);
        Assert.Equal("user@example.com", identity.Email);
        Assert.Equal([Audience], identity.Audiences);
        Assert.Equal(1, _auth.FetchCount());
    }

    [Fact]
    public async Task Authenticate_MethodWithoutRule_AnonymousWithoutLookingAtTokens()
    {
        var open = Models.Method("/test.Api/Open");
        var context = new DefaultHttpContext();
        context.Request.Headers.Authorization = "Bearer garbage";

        var result = await _auth.Authenticator.AuthenticateAsync(context.Request, open, CancellationToken.None).DefaultTimeout();

        Assert.Null(result.Failure);
        Assert.Null(result.Identity);
    }

    // ---- A: presence and extraction ----

    [Fact]
    public async Task Authenticate_A1_NoToken_Missing()
    {
        AuthAssert.Unauthenticated(await _auth.CallAsync(Strict, _ => { }), Reasons.Missing);
        Assert.Equal(0, AllFetches);
    }

    [Theory]
    [InlineData("A2 Basic", "Basic dXNlcjpwYXNz")]
    [InlineData("A2 Bearer-invalid", "Bearer-invalid")]
    [InlineData("A2 no prefix", "{token}")]
    [InlineData("A2 other scheme", "Token {token}")]
    [InlineData("A2 Bearer glued", "Bearer{token}")]
    [InlineData("A2 Bearer with dash", "Bearer-{token}")]
    [InlineData("A2 empty", "")]
    public async Task Authenticate_A2_AuthorizationNotBearer_Missing(string row, string value)
    {
        _ = row;
        var token = _auth.Token();

        var result = await _auth.CallAsync(Strict, r => r.Headers.Authorization = value.Replace("{token}", token, StringComparison.Ordinal));

        AuthAssert.Unauthenticated(result, Reasons.Missing);
    }

    [Theory]
    [InlineData("A3 lowercase", "bearer")]
    [InlineData("A3 uppercase", "BEARER")]
    [InlineData("A3 mixed", "BeArEr")]
    public async Task Authenticate_A3_SchemeInAnyCase_Verified(string row, string scheme)
    {
        _ = row;
        var token = _auth.Token();

        AuthAssert.Verified(await _auth.CallAsync(Strict, r => r.Headers.Authorization = $"{scheme} {token}"));
    }

    [Theory]
    [InlineData("A4 Bearer alone", "Bearer")]
    [InlineData("A4 Bearer and a space", "Bearer ")]
    [InlineData("A4 Bearer and spaces", "Bearer    ")]
    [InlineData("A4 lowercase, tab", "bearer\t")]
    public async Task Authenticate_A4_BearerWithoutToken_BadFormat(string row, string value)
    {
        _ = row;
        AuthAssert.Unauthenticated(await _auth.CallAsync(Strict, r => r.Headers.Authorization = value), Reasons.BadFormat);
    }

    [Fact]
    public async Task Authenticate_DefaultLocations_IapHeaderAndAccessTokenQuery_Verified()
    {
        var token = _auth.Token();

        AuthAssert.Verified(await _auth.CallAsync(Strict, r => r.Headers["X-Goog-Iap-Jwt-Assertion"] = token));
        AuthAssert.Verified(await _auth.CallAsync(Strict, r => r.QueryString = new QueryString("?access_token=" + token)));
    }

    [Fact]
    public async Task Authenticate_SameTokenInTwoPlaces_VerifiedOnce()
    {
        var token = _auth.Token();

        var identity = AuthAssert.Verified(await _auth.CallAsync(Strict, r =>
        {
            r.Headers.Authorization = "Bearer " + token;
            r.QueryString = new QueryString("?access_token=" + token);
        }));

        Assert.Equal(token, identity.Raw);
        Assert.Equal(1, _auth.Cache.Count);
    }

    [Fact]
    public async Task Authenticate_A5_TokenOutsideTheProvidersLocations_Missing()
    {
        var token = _auth.Token(iss: CustomIssuer);

        AuthAssert.Unauthenticated(await _auth.CallAsync(Custom, r => r.Headers.Authorization = "Bearer " + token), Reasons.Missing);
        AuthAssert.Unauthenticated(await _auth.CallAsync(Custom, r => r.QueryString = new QueryString("?access_token=" + token)), Reasons.Missing);
        AuthAssert.Unauthenticated(await _auth.CallAsync(Custom, r => r.Headers["x-goog-iap-jwt-assertion"] = token), Reasons.Missing);
        AuthAssert.Unauthenticated(await _auth.CallAsync(Custom, r => r.Headers["x-prefixed"] = token), Reasons.Missing);
        // And the default provider does not read cookies.
        AuthAssert.Unauthenticated(await _auth.CallAsync(Strict, r => r.Headers.Cookie = "jwt_cookie=" + _auth.Token()), Reasons.Missing);
        Assert.Equal(0, AllFetches);
    }

    [Theory]
    [InlineData("A5 header", "header")]
    [InlineData("A5 header with prefix", "prefixed")]
    [InlineData("A5 query", "query")]
    [InlineData("A5 cookie", "cookie")]
    public async Task Authenticate_A5_ConfiguredLocation_Verified(string row, string where)
    {
        _ = row;
        var token = _auth.Token(iss: CustomIssuer);

        var result = await _auth.CallAsync(Custom, r =>
        {
            switch (where)
            {
                case "header":
                    r.Headers["x-jwt"] = token;
                    break;
                case "prefixed":
                    r.Headers["x-prefixed"] = "JWT " + token;
                    break;
                case "query":
                    r.QueryString = new QueryString("?jwt=" + token);
                    break;
                default:
                    r.Headers.Cookie = "session=abc; jwt_cookie=" + token;
                    break;
            }
        });

        AuthAssert.Verified(result);
    }

    [Fact]
    public async Task Authenticate_A6_GoodHeaderAndBadQueryToken_RefusedWithTheBadOnesReason()
    {
        var good = _auth.Token();
        var forged = TestTokens.WithSignature(_auth.Token(extra: new JsonObject { ["role"] = "admin" }), TestTokens.SignatureOf(good));
        var expired = _auth.Token(exp: _auth.Now - 3600);

        AuthAssert.Unauthenticated(await _auth.CallAsync(Strict, r =>
        {
            r.Headers.Authorization = "Bearer " + good;
            r.QueryString = new QueryString("?access_token=" + forged);
        }), Reasons.VerificationFails);
        AuthAssert.Unauthenticated(await _auth.CallAsync(Strict, r =>
        {
            r.Headers.Authorization = "Bearer " + expired;
            r.QueryString = new QueryString("?access_token=" + good);
        }), Reasons.Expired);
    }

    [Fact]
    public async Task Authenticate_A7_TwoAuthorizationHeadersOneBad_Refused()
    {
        var good = _auth.Token();
        var bad = TestTokens.WithSignature(good, new byte[256]);

        AuthAssert.Unauthenticated(await _auth.CallAsync(Strict, r => r.Headers.Authorization = new StringValues(["Bearer " + good, "Bearer " + bad])), Reasons.VerificationFails);
        AuthAssert.Unauthenticated(await _auth.CallAsync(Strict, r => r.Headers.Authorization = new StringValues(["Bearer " + bad, "Bearer " + good])), Reasons.VerificationFails);
        // A value of another scheme is not a token: the Bearer one alone is checked.
        AuthAssert.Verified(await _auth.CallAsync(Strict, r => r.Headers.Authorization = new StringValues(["Bearer " + good, "Basic dXNlcjpwYXNz"])));
    }

    [Fact]
    public async Task Authenticate_A7_CommaJoinedTokens_BadFormat()
    {
        var good = _auth.Token();

        AuthAssert.Unauthenticated(await _auth.CallAsync(Strict, r => r.Headers.Authorization = $"Bearer {good}, Bearer {good}"), Reasons.BadFormat);
    }

    [Fact]
    public async Task Authenticate_A8_AllowWithoutCredential_NoToken_Anonymous()
    {
        var result = await _auth.CallAsync(Optional, _ => { });

        Assert.Null(result.Failure);
        Assert.Null(result.Identity);
        Assert.Equal(0, AllFetches);
    }

    [Theory]
    [InlineData("A8 bad signature", Reasons.VerificationFails)]
    [InlineData("A8 wrong issuer", Reasons.UnknownIssuer)]
    [InlineData("A8 expired", Reasons.Expired)]
    [InlineData("A8 malformed", Reasons.BadFormat)]
    [InlineData("A8 Bearer without token", Reasons.BadFormat)]
    public async Task Authenticate_A8_AllowWithoutCredential_InvalidToken_RefusedWithItsReason(string row, string reason)
    {
        var token = row[3..] switch
        {
            "bad signature" => TestTokens.WithSignature(_auth.Token(), new byte[256]),
            "wrong issuer" => _auth.Token(iss: "https://evil.test"),
            "expired" => _auth.Token(exp: _auth.Now - 3600),
            "malformed" => "not-a-jwt",
            _ => "",
        };

        AuthAssert.Unauthenticated(await _auth.BearerAsync(token, Optional), reason);
    }

    [Fact]
    public async Task Authenticate_A8_AllowWithoutCredential_GoodToken_VerifiedWithIdentity() =>
        AuthAssert.Verified(await _auth.BearerAsync(_auth.Token(), Optional));

    [Fact]
    public async Task Authenticate_A10_OversizedToken_TooLarge()
    {
        var token = _auth.Token(extra: new JsonObject { ["pad"] = new string('x', 17 * 1024) });

        AuthAssert.Unauthenticated(await _auth.BearerAsync(token), Reasons.TooLarge);
        Assert.Equal(0, AllFetches);
    }

    [Fact]
    public async Task Authenticate_B7_GarbageAfterTokenInHeader_SignatureBadBase64()
    {
        var token = _auth.Token();

        AuthAssert.Unauthenticated(await _auth.CallAsync(Strict, r => r.Headers.Authorization = $"Bearer {token} extra"), Reasons.SignatureBadBase64);
        // Surrounding whitespace is not part of the token.
        AuthAssert.Verified(await _auth.CallAsync(Strict, r => r.Headers.Authorization = $"Bearer   {token}  "));
    }

    // ---- C: header keys are never fetched nor used ----

    [Theory]
    [InlineData("C6 jku", "jku")]
    [InlineData("C6 x5u", "x5u")]
    public async Task Authenticate_C6_KeyUrlInHeader_NeverFetched(string row, string member)
    {
        var path = $"/attacker/{member}";
        shared.Server.Serve(path, TestTokens.Jwks(TestKeys.Attacker.As("attacker", "RS256")));
        var payload = TestTokens.Payload(Issuer, [Audience], _auth.Now, _auth.Now + 3600);
        var unknownKid = new JsonObject { ["alg"] = "RS256", ["kid"] = "attacker", [member] = shared.Server.Url(path) };
        var publishedKid = new JsonObject { ["alg"] = "RS256", ["kid"] = "rsa-1", [member] = shared.Server.Url(path) };

        var first = await _auth.BearerAsync(TestTokens.Sign(TestKeys.Attacker, unknownKid.ToJsonString(), payload));
        var second = await _auth.BearerAsync(TestTokens.Sign(TestKeys.Attacker, publishedKid.ToJsonString(), payload));

        AuthAssert.Unauthenticated(first, Reasons.NoMatchingKey);
        AuthAssert.Unauthenticated(second, Reasons.VerificationFails);
        Assert.True(shared.Server.Requests(path) == 0, $"{row}: the URL in the token was fetched");
        // Only the configured key URL: the first fetch, and one refetch for the unknown kid.
        Assert.Equal(2, _auth.FetchCount());
    }

    [Fact]
    public async Task Authenticate_C8_KidInjection_NoMatchingKeyAndAtMostOneRefetch()
    {
        string[] kids = ["../../dev/null", "/dev/null", "' OR 1=1 --", "$(sleep 10)", "`id`", "%00", new string('k', 10 * 1024)];

        foreach (var kid in kids)
            AuthAssert.Unauthenticated(await _auth.BearerAsync(_auth.Token(kid: kid)), Reasons.NoMatchingKey);

        Assert.Equal(2, _auth.FetchCount());
    }

    [Fact]
    public async Task Authenticate_C8_EmptyKid_EveryKeyTried()
    {
        AuthAssert.Verified(await _auth.BearerAsync(_auth.Token(kid: null)));
        AuthAssert.Unauthenticated(await _auth.BearerAsync(_auth.Token(TestKeys.Attacker, kid: null)), Reasons.VerificationFails);
    }

    // ---- D6, D7: claims ----

    [Fact]
    public async Task Authenticate_D6_ExpZero_Expired()
    {
        AuthAssert.Unauthenticated(await _auth.BearerAsync(_auth.Token(exp: 0)), Reasons.Expired);
        Assert.Equal(0, AllFetches);
    }

    [Fact]
    public async Task Authenticate_NoExp_Verified()
    {
        var token = Signed(TestTokens.Payload(Issuer, [Audience], _auth.Now, exp: null));

        AuthAssert.Verified(await _auth.BearerAsync(token));
    }

    [Theory]
    [InlineData("exp beyond year 9999", 100_000_000_000_000)]
    [InlineData("exp long.MaxValue", long.MaxValue)]
    public async Task Authenticate_FarFutureExp_VerifiedAndCached(string row, long exp)
    {
        _ = row;
        var token = _auth.Token(exp: exp);

        AuthAssert.Verified(await _auth.BearerAsync(token));
        AuthAssert.Verified(await _auth.BearerAsync(token));
        Assert.Equal(1, _auth.Cache.Count);
    }

    [Fact]
    public async Task Authenticate_D7_VeryLongClaims_Verified()
    {
        // 8000 characters of sub and 3000 of another claim: within the 16 KiB token cap.
        var sub = new string('s', 8000);
        var token = Signed(TestTokens.Payload(Issuer, [Audience], _auth.Now, _auth.Now + 3600, sub, new JsonObject { ["profile"] = new string('p', 3000) }));

        Assert.Equal(sub, AuthAssert.Verified(await _auth.BearerAsync(token)).Subject);
    }

    // ---- E: time ----

    [Theory]
    [InlineData("E1 61 s ago", -61)]
    [InlineData("E1 an hour ago", -3600)]
    [InlineData("E1 at the epoch", int.MinValue)]
    public async Task Authenticate_E1_ExpiredBeyondSkew_ExpiredWithoutFetchingKeys(string row, int offset)
    {
        _ = row;
        var exp = offset == int.MinValue ? 1 : _auth.Now + offset;

        AuthAssert.Unauthenticated(await _auth.BearerAsync(_auth.Token(exp: exp)), Reasons.Expired);
        Assert.Equal(0, AllFetches);
    }

    [Theory]
    [InlineData("E2 exactly the skew ago", -60)]
    [InlineData("E2 a second ago", -1)]
    [InlineData("E2 now", 0)]
    public async Task Authenticate_E2_ExpiredWithinSkew_Verified(string row, int offset)
    {
        _ = row;
        AuthAssert.Verified(await _auth.BearerAsync(_auth.Token(exp: _auth.Now + offset)));
    }

    [Fact]
    public async Task Authenticate_E3_NotBeforeBeyondSkew_NotYetValid()
    {
        var early = _auth.Token(extra: new JsonObject { ["nbf"] = _auth.Now + 61 });
        var withinSkew = _auth.Token(extra: new JsonObject { ["nbf"] = _auth.Now + 60 });

        AuthAssert.Unauthenticated(await _auth.BearerAsync(early), Reasons.NotYetValid);
        Assert.Equal(0, AllFetches);
        AuthAssert.Verified(await _auth.BearerAsync(withinSkew));
    }

    [Fact]
    public async Task Authenticate_E4_IssuedInTheFuture_Verified()
    {
        // iat is type-checked only (as in Envoy and ESP): exp and nbf bound the token's life.
        var token = Signed(TestTokens.Payload(Issuer, [Audience], iat: _auth.Now + 3600, exp: _auth.Now + 7200));

        AuthAssert.Verified(await _auth.BearerAsync(token));
    }

    // ---- F: issuer and audience ----

    [Fact]
    public async Task Authenticate_F1_UnknownIssuer_RefusedWithoutFetchingKeys()
    {
        AuthAssert.Unauthenticated(await _auth.BearerAsync(_auth.Token(iss: "https://evil.test")), Reasons.UnknownIssuer);
        AuthAssert.Unauthenticated(await _auth.BearerAsync(_auth.Token(iss: "https://issuer.test.evil.test")), Reasons.UnknownIssuer);
        AuthAssert.Unauthenticated(await _auth.BearerAsync(_auth.Token(iss: "")), Reasons.UnknownIssuer);
        Assert.Equal(0, AllFetches);
    }

    [Fact]
    public async Task Authenticate_F2_NoIssuer_UnknownIssuer()
    {
        AuthAssert.Unauthenticated(await _auth.BearerAsync(_auth.Token(iss: null)), Reasons.UnknownIssuer);
        Assert.Equal(0, AllFetches);
    }

    [Theory]
    [InlineData("issuer.test")]
    [InlineData("https://issuer.test/")]
    [InlineData("http://issuer.test")]
    [InlineData("http://issuer.test/")]
    public async Task Authenticate_IssuerSpelledWithOrWithoutSchemeOrSlash_Verified(string iss) =>
        AuthAssert.Verified(await _auth.BearerAsync(_auth.Token(iss: iss)));

    [Fact]
    public async Task Authenticate_IssuerWithTwoTrailingSlashes_UnknownIssuer() =>
        AuthAssert.Unauthenticated(await _auth.BearerAsync(_auth.Token(iss: "https://issuer.test//")), Reasons.UnknownIssuer);

    [Fact]
    public async Task Authenticate_F3_OtherProvidersToken_UnknownIssuerOnThisMethod()
    {
        var other = _auth.Token(TestKeys.Rsa2, iss: OtherIssuer);

        AuthAssert.Unauthenticated(await _auth.BearerAsync(other, Strict), Reasons.UnknownIssuer);
        AuthAssert.Verified(await _auth.BearerAsync(other, Other));
        AuthAssert.Verified(await _auth.BearerAsync(other, Either));
        AuthAssert.Verified(await _auth.BearerAsync(_auth.Token(), Either));
        // Verified and cached for Other: still not this method's provider.
        AuthAssert.Unauthenticated(await _auth.BearerAsync(other, Strict), Reasons.UnknownIssuer);
    }

    [Fact]
    public async Task Authenticate_F3_OurIssuerSignedWithOtherProvidersKey_NoMatchingKey()
    {
        // iss says "main", the signature is by "other"'s key: main's keys decide.
        var confused = _auth.Token(TestKeys.Rsa2);

        AuthAssert.Unauthenticated(await _auth.BearerAsync(confused, Strict), Reasons.NoMatchingKey);
        AuthAssert.Unauthenticated(await _auth.BearerAsync(_auth.Token(TestKeys.Rsa2, kid: null), Strict), Reasons.VerificationFails);
    }

    [Theory]
    [InlineData("F4 another audience", "someone-else")]
    [InlineData("F4 prefix of ours", "echo")]
    [InlineData("F4 ours with a path", "https://echo-audience/x")]
    [InlineData("F4 case differs", "ECHO-AUDIENCE")]
    public async Task Authenticate_F4_AudienceNotAccepted_PermissionDenied(string row, string aud)
    {
        _ = row;
        AuthAssert.Refused(await _auth.BearerAsync(_auth.Token(aud: [aud])), StatusCode.PermissionDenied, Reasons.AudienceNotAllowed);
        Assert.Equal(0, AllFetches);
    }

    [Fact]
    public async Task Authenticate_F5_NoAudience_PermissionDenied()
    {
        var noAud = Signed(TestTokens.Payload(Issuer, aud: null, _auth.Now, _auth.Now + 3600));
        var emptyList = Signed(TestTokens.Payload(Issuer, aud: [], _auth.Now, _auth.Now + 3600));

        AuthAssert.Refused(await _auth.BearerAsync(noAud), StatusCode.PermissionDenied, Reasons.AudienceNotAllowed);
        AuthAssert.Refused(await _auth.BearerAsync(emptyList), StatusCode.PermissionDenied, Reasons.AudienceNotAllowed);
    }

    [Theory]
    [InlineData("F6 https and slash", "https://echo-audience/")]
    [InlineData("F6 http", "http://echo-audience")]
    [InlineData("F6 slash", "echo-audience/")]
    public async Task Authenticate_F6_AudienceWithSchemeOrSlash_Verified(string row, string aud)
    {
        _ = row;
        AuthAssert.Verified(await _auth.BearerAsync(_auth.Token(aud: [aud])));
    }

    [Fact]
    public async Task Authenticate_AudienceListWithOneAccepted_Verified() =>
        AuthAssert.Verified(await _auth.BearerAsync(_auth.Token(aud: ["x", "y", Audience])));

    [Theory]
    [InlineData("F7 service name", ServiceName)]
    [InlineData("F7 https service name", "https://" + ServiceName)]
    public async Task Authenticate_F7_ServiceNameIsAnAudience_UnlessDisabled(string row, string aud)
    {
        _ = row;
        await using var disabled = await StartAsync(options: _ => new AuthOptions { DisableServiceNameAudience = true }, sharedServer: shared.Server);

        AuthAssert.Verified(await _auth.BearerAsync(_auth.Token(aud: [aud])));
        AuthAssert.Refused(await disabled.BearerAsync(disabled.Token(aud: [aud])), StatusCode.PermissionDenied, Reasons.AudienceNotAllowed);
        AuthAssert.Verified(await disabled.BearerAsync(disabled.Token()));
    }

    [Fact]
    public async Task Authenticate_RequirementAudience_AcceptedOnlyWhereTheRuleAddsIt()
    {
        var token = _auth.Token(aud: ["extra-aud"]);

        AuthAssert.Verified(await _auth.BearerAsync(token, ExtraAudience));
        AuthAssert.Verified(await _auth.BearerAsync(_auth.Token(), ExtraAudience));
        AuthAssert.Refused(await _auth.BearerAsync(token, Strict), StatusCode.PermissionDenied, Reasons.AudienceNotAllowed);
    }
}
