using System.Collections.Frozen;

namespace Esp.Forwarding;

/// <summary>Which headers cross the proxy, in either direction.</summary>
internal static class ProxyHeaders
{
    public const string UserInfo = "x-endpoint-api-userinfo";
    public const string ForwardedAuthorization = "x-forwarded-authorization";

    /// <summary>The API key's consumer, as ESPv2 names the headers (its <c>-Type</c> and <c>-Number</c>) plus its name.</summary>
    public const string ConsumerType = "x-endpoint-api-consumer-type";
    public const string ConsumerNumber = "x-endpoint-api-consumer-number";
    public const string ConsumerName = "x-endpoint-api-consumer-name";

    /// <summary>
    /// The consumer type sent with <see cref="ConsumerType"/>: Google's <c>ConsumerInfo</c> value for a consumer the
    /// service defines itself, which is what a key store's consumer is.
    /// </summary>
    public const string ServiceSpecificConsumer = "SERVICE_SPECIFIC";

    /// <summary>
    /// Connection-specific headers (RFC 9110 §7.6.1, RFC 9113 §8.2.2) are never forwarded; <c>te</c>
    /// is handled apart (only <c>te: trailers</c> may go on).
    /// </summary>
    private static readonly FrozenSet<string> HopByHop = new[]
    {
        "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te",
        "proxy-authenticate", "proxy-authorization", "host", "content-length",
    }.ToFrozenSet(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Headers only the proxy may set for the backend: a caller sending them is trying to
    /// impersonate someone, so they are removed from every request, authenticated or not.
    /// </summary>
    private static readonly FrozenSet<string> ProxyOwned = new[]
    {
        UserInfo, ForwardedAuthorization, ConsumerType, ConsumerNumber, ConsumerName,
    }.ToFrozenSet(StringComparer.OrdinalIgnoreCase);

    public static bool ForwardRequestHeader(string name) =>
        name.Length > 0 && name[0] != ':' && !HopByHop.Contains(name) && !ProxyOwned.Contains(name);

    public static bool ForwardResponseHeader(string name) =>
        name.Length > 0 && name[0] != ':' && !HopByHop.Contains(name);

    public static bool IsProxyOwned(string name) => ProxyOwned.Contains(name);

    /// <summary>Removes every proxy-owned header a caller sent.</summary>
    public static void RemoveProxyOwned(Microsoft.AspNetCore.Http.IHeaderDictionary headers)
    {
        foreach (var name in ProxyOwned.Items)
            headers.Remove(name);
    }
}

/// <summary>Who called, as far as the proxy checked: what the backend is told.</summary>
/// <param name="UserInfo">The <c>X-Endpoint-API-UserInfo</c> value, when a JWT verified.</param>
/// <param name="ApiKey">The API key's record, when the method needed one.</param>
internal readonly record struct CallerIdentity(string? UserInfo, ApiKeys.ApiKeyRecord? ApiKey);
