using Esp.Auth;
using Esp.Grpc;
using Esp.Grpc.Client;
using Esp.Interop;
using Esp.Tests.Infrastructure;
using Esp.Tests.Interop;
using Xunit;

namespace Esp.Tests.Auth.Interop;

/// <summary>
/// What the backend is told about the caller: <c>X-Endpoint-API-UserInfo</c> in each
/// <c>--user_info_format</c>, decoded and compared with the token the client sent; and a
/// client-sent <c>X-Endpoint-API-UserInfo</c> never reaches the backend, with or without a token.
/// The Echo backend echoes the <c>x-</c> headers it received, so the clients see its view.
/// </summary>
public sealed class UserInfoTests(AuthInteropFixture fixture) : IClassFixture<AuthInteropFixture>
{
    private const string UserInfo = "x-endpoint-api-userinfo";
    private const string Forged = "eyJpZCI6ImFkbWluIiwiaXNzdWVyIjoiZXZpbCJ9";

    public static TheoryData<string, string> FormatsAndTokens { get; } =
        PeerAuthTests.Cross(["esp", "esp-legacy", "espv2"], [TokenNames.PyJwtRs256, TokenNames.PyJwtEs256, TokenNames.GoogleAuth]);

    public static TheoryData<string, string> FormatsAndPeers { get; } =
        PeerAuthTests.Cross(["esp", "esp-legacy", "espv2"], [AuthCalls.Python, AuthCalls.Node]);

    public static TheoryData<string> Formats { get; } = ["esp", "esp-legacy", "espv2"];

    public static TheoryData<string> Senders { get; } = [.. AuthCalls.Senders];

    [Theory]
    [MemberData(nameof(FormatsAndTokens))]
    public async Task Format_Token_BackendGetsIdentity(string format, string tokenName)
    {
        var token = fixture.Token(tokenName);

        var report = await AuthCalls.UnaryAsync(AuthCalls.CSharp, fixture.Proxy(Parse(format)), token);

        Assert.True(report.Code == "OK", report.ToString());
        UserInfoAssert.Matches(Assert.Single(report.UserInfo), token, Parse(format));
    }

    /// <summary>PyJWT's token with nested, non-ASCII claims, sent by each peer: the backend's view reaches the peer.</summary>
    [Theory]
    [MemberData(nameof(FormatsAndPeers))]
    public async Task Format_PeerSendsRichClaims_BackendGetsIdentity(string format, string sender)
    {
        var token = fixture.Token(TokenNames.PyJwtRs256);

        var report = await AuthCalls.UnaryAsync(sender, fixture.Proxy(Parse(format)), token);

        Assert.True(report.Code == "OK", report.ToString());
        UserInfoAssert.Matches(Assert.Single(report.UserInfo), token, Parse(format));
        Assert.Equal(report.UserInfo, report.Trailers[UserInfo]);
    }

    [Fact]
    public void EspFormat_GoogleAuthToken_SeedsFields()
    {
        // What the seeds' backend reads for the walkthrough's token, spelled out.
        var token = fixture.Token(TokenNames.GoogleAuth);
        var payload = UserInfoAssert.Payload(token);

        Assert.Equal(AuthInteropFixture.CallerEmail, payload["iss"]!.GetValue<string>());
        Assert.Equal(AuthInteropFixture.CallerEmail, payload["sub"]!.GetValue<string>());
        Assert.Equal(AuthInteropFixture.SeedsEmail, payload["email"]!.GetValue<string>());
        Assert.Equal(AuthInteropFixture.ServiceName, payload["aud"]!.GetValue<string>());
    }

    [Theory]
    [MemberData(nameof(Formats))]
    public async Task ValidToken_ForgedUserInfo_BackendGetsOnlyTheProxys(string format)
    {
        var token = fixture.Token(TokenNames.GoogleAuth);

        var report = await AuthCalls.UnaryAsync(AuthCalls.CSharp, fixture.Proxy(Parse(format)), token,
            ("X-Endpoint-API-UserInfo", Forged), (UserInfo, Forged + "2"));

        Assert.True(report.Code == "OK", report.ToString());
        UserInfoAssert.Matches(Assert.Single(report.UserInfo), token, Parse(format));
    }

    [Theory]
    [InlineData(AuthCalls.Python)]
    [InlineData(AuthCalls.Node)]
    public async Task ValidToken_PeerForgesUserInfo_BackendGetsOnlyTheProxys(string sender)
    {
        var token = fixture.Token(TokenNames.PyJwtEs256);

        var report = await AuthCalls.UnaryAsync(sender, fixture.Default, token, (UserInfo, Forged), ("x-forwarded-authorization", "Bearer forged"), ("x-other", "kept"));

        Assert.True(report.Code == "OK", report.ToString());
        UserInfoAssert.Matches(Assert.Single(report.UserInfo), token, UserInfoFormat.Esp);
        Assert.False(report.Headers.ContainsKey("x-forwarded-authorization"), report.ToString());
        Assert.Equal(["kept"], report.Headers["x-other"]);
    }

    /// <summary>A proxy without authentication: nobody's identity, so no user info at all.</summary>
    [Theory]
    [MemberData(nameof(Senders))]
    public async Task NoAuthConfigured_ForgedUserInfo_NeverReachesBackend(string sender)
    {
        var report = await AuthCalls.UnaryAsync(sender, fixture.Open, null, (UserInfo, Forged), ("x-other", "kept"));

        Assert.True(report.Code == "OK", report.ToString());
        Assert.Empty(report.UserInfo);
        Assert.Equal(["kept"], report.Headers["x-other"]);
    }

    [Fact]
    public async Task NoAuthConfigured_ValidTokenAndForgedUserInfo_NoUserInfo()
    {
        var report = await AuthCalls.UnaryAsync(AuthCalls.CSharp, fixture.Open, fixture.Token(TokenNames.GoogleAuth), (UserInfo, Forged));

        Assert.True(report.Code == "OK", report.ToString());
        Assert.Empty(report.UserInfo);
    }

    /// <summary>ServerStream allows calls without a credential: forwarded anonymously, the forged header dropped.</summary>
    [Fact]
    public async Task AllowWithoutCredential_NoToken_ForgedUserInfoDropped()
    {
        var headers = await ServerStreamHeadersAsync(AuthCalls.Headers(null, (UserInfo, Forged)));

        Assert.Null(headers.Get(UserInfo));
    }

    [Fact]
    public async Task AllowWithoutCredential_ValidToken_ProxysUserInfoOnly()
    {
        var token = fixture.Token(TokenNames.PyJwtRs256);

        var headers = await ServerStreamHeadersAsync(AuthCalls.Headers(token, (UserInfo, Forged)));

        UserInfoAssert.Matches(Assert.Single(headers.GetAll(UserInfo)).Value, token, UserInfoFormat.Esp);
    }

    /// <summary>A refused call is not forwarded, so a forged header cannot reach the backend either way.</summary>
    [Fact]
    public async Task ExpiredToken_ForgedUserInfo_RefusedNothingEchoed()
    {
        var report = await AuthCalls.UnaryAsync(AuthCalls.CSharp, fixture.Default, fixture.Token(TokenNames.Expired), (UserInfo, Forged));

        Assert.Equal("UNAUTHENTICATED", report.Code);
        Assert.Empty(report.UserInfo);
        Assert.Empty(report.Trailers);
    }

    private async Task<Metadata> ServerStreamHeadersAsync(Metadata headers)
    {
        using var channel = GrpcChannel.ForAddress(fixture.Default.Address);
        using var call = channel.ServerStreamingCall(EchoClientCases.ServerStream, new EchoRequest { ResponseCount = 1 },
            new CallOptions { Timeout = TimeSpan.FromSeconds(10), Headers = headers });
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout());
        Assert.False(await call.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout());
        Assert.Equal(StatusCode.OK, call.GetStatus().Code);
        return await call.ResponseHeadersAsync.DefaultTimeout();
    }

    private static UserInfoFormat Parse(string format) => format switch
    {
        "esp" => UserInfoFormat.Esp,
        "esp-legacy" => UserInfoFormat.EspLegacy,
        "espv2" => UserInfoFormat.EspV2,
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, null),
    };
}
