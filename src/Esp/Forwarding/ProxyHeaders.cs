using System.Collections.Frozen;

namespace Esp.Forwarding;

/// <summary>Which headers cross the proxy, in either direction.</summary>
internal static class ProxyHeaders
{
    public const string UserInfo = "x-endpoint-api-userinfo";
    public const string ForwardedAuthorization = "x-forwarded-authorization";

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
        UserInfo, ForwardedAuthorization,
    }.ToFrozenSet(StringComparer.OrdinalIgnoreCase);

    public static bool ForwardRequestHeader(string name) =>
        name.Length > 0 && name[0] != ':' && !HopByHop.Contains(name) && !ProxyOwned.Contains(name);

    public static bool ForwardResponseHeader(string name) =>
        name.Length > 0 && name[0] != ':' && !HopByHop.Contains(name);

    public static bool IsProxyOwned(string name) => ProxyOwned.Contains(name);
}
