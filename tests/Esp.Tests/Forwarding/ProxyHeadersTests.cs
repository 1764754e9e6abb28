using Esp.Forwarding;
using Esp.Grpc.Http2.Server;
using Microsoft.AspNetCore.Http;
using Xunit;

namespace Esp.Tests.Forwarding;

/// <summary>Which of a caller's headers reach the backend, and how.</summary>
public sealed class ProxyHeadersTests
{
    [Theory]
    [InlineData("user-agent", nameof(RequestHeaderFate.Forward))]
    [InlineData("User-Agent", nameof(RequestHeaderFate.Forward))]
    [InlineData("x-request-id", nameof(RequestHeaderFate.Forward))]
    [InlineData("grpc-accept-encoding", nameof(RequestHeaderFate.Forward))]
    // Credentials: no HPACK table between us and the backend may keep them.
    [InlineData("authorization", nameof(RequestHeaderFate.ForwardNeverIndexed))]
    [InlineData("Authorization", nameof(RequestHeaderFate.ForwardNeverIndexed))]
    [InlineData("cookie", nameof(RequestHeaderFate.ForwardNeverIndexed))]
    [InlineData("x-api-key", nameof(RequestHeaderFate.ForwardNeverIndexed))]
    [InlineData("api-key", nameof(RequestHeaderFate.ForwardNeverIndexed))]
    [InlineData("x-goog-iap-jwt-assertion", nameof(RequestHeaderFate.ForwardNeverIndexed))]
    // Hop-by-hop, pseudo-headers, what the forwarder writes itself, and what only the proxy may say.
    [InlineData("connection", nameof(RequestHeaderFate.Drop))]
    [InlineData("te", nameof(RequestHeaderFate.Drop))]
    [InlineData("host", nameof(RequestHeaderFate.Drop))]
    [InlineData("Content-Length", nameof(RequestHeaderFate.Drop))]
    [InlineData("proxy-authorization", nameof(RequestHeaderFate.Drop))]
    [InlineData(":path", nameof(RequestHeaderFate.Drop))]
    [InlineData("", nameof(RequestHeaderFate.Drop))]
    [InlineData("content-type", nameof(RequestHeaderFate.Drop))]
    [InlineData("grpc-timeout", nameof(RequestHeaderFate.Drop))]
    [InlineData("x-endpoint-api-userinfo", nameof(RequestHeaderFate.Drop))]
    [InlineData("X-Endpoint-API-UserInfo", nameof(RequestHeaderFate.Drop))]
    [InlineData("x-forwarded-authorization", nameof(RequestHeaderFate.Drop))]
    [InlineData("x-endpoint-api-consumer-name", nameof(RequestHeaderFate.Drop))]
    public void FateOfRequestHeader(string name, string expected) =>
        Assert.Equal(expected, ProxyHeaders.FateOfRequestHeader(name).ToString());

    public static TheoryData<string> Collections => ["ours", "aspnet"];

    [Theory]
    [MemberData(nameof(Collections))]
    public void RemoveProxyOwned_EverySpoofedCopyGone_TheRestInOrder(string collection)
    {
        IHeaderDictionary headers = collection == "ours" ? new HeaderFieldList() : new HeaderDictionary();
        headers.Append("x-endpoint-api-userinfo", "spoofed");
        headers.Append("user-agent", "grpc-go");
        headers.Append("X-Forwarded-Authorization", "Bearer spoofed");
        headers.Append("x-endpoint-api-consumer-type", "PROJECT");
        headers.Append("x-endpoint-api-consumer-number", "1");
        headers.Append("x-endpoint-api-consumer-name", "spoofed");
        headers.Append("x-request-id", "42");
        headers.Append("authorization", "Bearer caller");

        ProxyHeaders.RemoveProxyOwned(headers);

        Assert.Equal(["user-agent", "x-request-id", "authorization"], headers.Select(h => h.Key));
    }
}
