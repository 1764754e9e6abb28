using Esp.Auth;
using Esp.Grpc;
using Esp.Grpc.Client;
using Esp.Interop;
using Esp.Tests.Infrastructure;
using Esp.Tests.Interop;
using Google.Protobuf;
using Xunit;

namespace Esp.Tests.Auth.Interop;

/// <summary>
/// Tokens made by PyJWT (RS256, ES256; keys from a JWKS) and by google-auth as the seeds'
/// jwt_token_gen.py makes them (service account key; keys from Google's X.509 certificate map),
/// sent through the proxy by Python grpcio, @grpc/grpc-js and our client: valid ones reach the
/// backend with the caller's identity, and every refusal reaches each client with its status code
/// and message intact.
/// </summary>
public sealed class PeerAuthTests(AuthInteropFixture fixture) : IClassFixture<AuthInteropFixture>
{
    private const string Prefix = "JWT validation failed: ";

    public static TheoryData<string, string> Accepted { get; } = Cross([TokenNames.PyJwtRs256, TokenNames.PyJwtEs256, TokenNames.GoogleAuth], AuthCalls.Senders);

    [Theory]
    [MemberData(nameof(Accepted))]
    public async Task ValidToken_Forwarded_BackendSeesCaller(string tokenName, string sender)
    {
        var token = fixture.Token(tokenName);

        var report = await AuthCalls.UnaryAsync(sender, fixture.Default, token);

        Assert.True(report.Code == "OK", report.ToString());
        UserInfoAssert.Matches(Assert.Single(report.UserInfo), token, UserInfoFormat.Esp);
    }

    public static TheoryData<string> Senders { get; } = [.. AuthCalls.Senders];

    /// <summary>ESP's second default location: <c>X-Goog-Iap-Jwt-Assertion: TOKEN</c>, no scheme.</summary>
    [Theory]
    [MemberData(nameof(Senders))]
    public async Task IapAssertionHeader_GoogleAuthToken_Forwarded(string sender)
    {
        var token = fixture.Token(TokenNames.GoogleAuth);

        var report = await AuthCalls.UnaryAsync(sender, fixture.Default, null, ("x-goog-iap-jwt-assertion", token));

        Assert.True(report.Code == "OK", report.ToString());
        UserInfoAssert.Matches(Assert.Single(report.UserInfo), token, UserInfoFormat.Esp);
    }

    public static TheoryData<string, string, string, string> Refusals { get; } = RefusalCases();

    /// <param name="tokenName">The token sent, or "none".</param>
    [Theory]
    [MemberData(nameof(Refusals))]
    public async Task BadOrNoToken_Refused_StatusAndMessageReachClientIntact(string tokenName, string sender, string code, string reason)
    {
        var token = tokenName == "none" ? null : fixture.Token(tokenName);

        var report = await AuthCalls.UnaryAsync(sender, fixture.Default, token);

        Assert.Equal(code, report.Code);
        Assert.Equal(Prefix + reason, report.Details);
        Assert.Empty(report.UserInfo);
    }

    public static TheoryData<string, string> StreamingCases { get; } = Cross([AuthCalls.Python, AuthCalls.Node], ["client_stream", "bidi"]);

    /// <summary>The peers' own interop cases, with a token, through the authenticating proxy.</summary>
    [Theory]
    [MemberData(nameof(StreamingCases))]
    public async Task PeerStreamingCase_WithGoogleAuthToken_Passes(string sender, string caseName)
    {
        var (exitCode, output) = await AuthCalls.PeerCaseAsync(sender, caseName, fixture.Default, fixture.Token(TokenNames.GoogleAuth));

        Assert.True(exitCode == 0, output);
        Assert.Contains($"PASS {caseName}", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bidi_NoToken_JwtIsMissing_BeforeAnyResponse()
    {
        using var channel = GrpcChannel.ForAddress(fixture.Default.Address);
        using var call = channel.DuplexStreamingCall(EchoClientCases.Bidi, new CallOptions { Timeout = TimeSpan.FromSeconds(10) });
        await WriteFirstAsync(call.RequestStream);

        var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(CancellationToken.None)).DefaultTimeout();

        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
        Assert.Equal(Prefix + "Jwt is missing", error.Status.Detail);
    }

    [Fact]
    public async Task ClientStream_ExpiredPyJwtToken_JwtIsExpired()
    {
        using var channel = GrpcChannel.ForAddress(fixture.Default.Address);
        var options = new CallOptions { Timeout = TimeSpan.FromSeconds(10), Headers = AuthCalls.Headers(fixture.Token(TokenNames.Expired)) };
        using var call = channel.ClientStreamingCall(EchoClientCases.ClientStream, options);
        await WriteFirstAsync(call.RequestStream);

        var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync).DefaultTimeout();

        Assert.Equal(StatusCode.Unauthenticated, error.StatusCode);
        Assert.Equal(Prefix + "Jwt is expired", error.Status.Detail);
    }

    [Fact]
    public async Task ValidToken_EveryRpcKind_Forwarded()
    {
        using var channel = GrpcChannel.ForAddress(fixture.Default.Address);
        var options = new CallOptions { Timeout = TimeSpan.FromSeconds(10), Headers = AuthCalls.Headers(fixture.Token(TokenNames.PyJwtEs256)) };

        using var serverStream = channel.ServerStreamingCall(EchoClientCases.ServerStream, new EchoRequest { ResponseCount = 2 }, options);
        var count = 0;
        while (await serverStream.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout())
            count++;
        using var bidi = channel.DuplexStreamingCall(EchoClientCases.Bidi, options);
        await bidi.RequestStream.WriteAsync(new EchoRequest { Payload = ByteString.CopyFromUtf8("x") }).DefaultTimeout();
        Assert.True(await bidi.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout());
        await bidi.RequestStream.CompleteAsync().DefaultTimeout();
        Assert.False(await bidi.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout());

        Assert.Equal(2, count);
        Assert.Equal(StatusCode.OK, serverStream.GetStatus().Code);
        Assert.Equal(StatusCode.OK, bidi.GetStatus().Code);
        UserInfoAssert.Matches((await bidi.ResponseHeadersAsync.DefaultTimeout()).GetValue("x-endpoint-api-userinfo")!, fixture.Token(TokenNames.PyJwtEs256), UserInfoFormat.Esp);
    }

    /// <summary>
    /// The seeds' jwt_token_gen.py run on the installed google-auth as it is. Debian's 1.5.1
    /// (before googleapis/google-auth-library-python#324, released in 1.6.3) pads every segment
    /// with "=" (an RS256 signature always needs "=="). The proxy reads tokens as strict RFC 7515
    /// base64url (DESIGN §5) and refuses them; ESPv1, which the seeds were written for, decoded
    /// with gRPC's base64 decoder and accepted padding. This pins today's behaviour.
    /// </summary>
    [Fact]
    public async Task GoogleAuthAsInstalled_PaddedSegments_RefusedAsNotBase64url()
    {
        var token = fixture.Token(TokenNames.GoogleAuthPadded);
        Assert.Contains('=', token);

        var report = await AuthCalls.UnaryAsync(AuthCalls.CSharp, fixture.Default, token);

        Assert.Equal("UNAUTHENTICATED", report.Code);
        Assert.Matches(@"^JWT validation failed: Jwt (header|payload|signature) is an invalid Base64url encoded$", report.Details);
    }

    [Fact]
    public void GoogleAuthToken_AsTheSeedsMakeIt()
    {
        var token = fixture.Token(TokenNames.GoogleAuth);
        var header = UserInfoAssert.Segment(token, 0);
        var payload = UserInfoAssert.Payload(token);

        Assert.Equal("RS256", header["alg"]!.GetValue<string>());
        Assert.Equal("JWT", header["typ"]!.GetValue<string>());
        Assert.Matches("^[0-9a-f]{40}$", header["kid"]!.GetValue<string>());
        Assert.Equal(["iat", "exp", "aud", "iss", "sub", "email"], payload.Select(p => p.Key));
        Assert.Equal(AuthInteropFixture.CallerEmail, payload["sub"]!.GetValue<string>());
        Assert.Equal(3600, payload["exp"]!.GetValue<long>() - payload["iat"]!.GetValue<long>());
        Assert.DoesNotContain('=', token);
    }

    /// <summary>
    /// Sends one message, the stream left open. Our client puts the request HEADERS on the wire
    /// only with the first message or the half-close (its request content does not flush at the
    /// start), so a stream that sends nothing may never reach the proxy.
    /// </summary>
    private static async Task WriteFirstAsync(IClientStreamWriter<EchoRequest> requests)
    {
        try
        {
            await requests.WriteAsync(new EchoRequest { Payload = ByteString.CopyFromUtf8("first") }).DefaultTimeout();
        }
        catch (RpcException)
        {
            // The refusal may already have ended the call; the test reads its status next.
        }
    }

    private static TheoryData<string, string, string, string> RefusalCases()
    {
        var data = new TheoryData<string, string, string, string>();
        foreach (var sender in AuthCalls.Senders)
        {
            data.Add("none", sender, "UNAUTHENTICATED", "Jwt is missing");
            data.Add(TokenNames.OtherServiceAccount, sender, "UNAUTHENTICATED", "Jwt issuer is not configured");
            data.Add(TokenNames.WrongAudience, sender, "PERMISSION_DENIED", "Audiences in Jwt are not allowed");
            data.Add(TokenNames.Expired, sender, "UNAUTHENTICATED", "Jwt is expired");
        }
        return data;
    }

    internal static TheoryData<string, string> Cross(string[] first, string[] second)
    {
        var data = new TheoryData<string, string>();
        foreach (var a in first)
        {
            foreach (var b in second)
                data.Add(a, b);
        }
        return data;
    }
}
