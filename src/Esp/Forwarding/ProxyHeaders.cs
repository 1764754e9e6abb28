using System.Collections.Frozen;
using Esp.Grpc.Http2.Server;
using Esp.Grpc.Protocol;

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

    public static bool ForwardResponseHeader(string name) =>
        name.Length > 0 && name[0] != ':' && !HopByHop.Contains(name);

    /// <summary>
    /// Credentials: sent to the backend as never-indexed literals (RFC 7541 §7.1.3), so that no
    /// HPACK table on the way keeps them (<c>proxy-authorization</c> and a caller's
    /// <c>x-forwarded-authorization</c> are not sent at all).
    /// </summary>
    private static readonly string[] Credentials =
    [
        "authorization", "cookie", "x-api-key", "api-key", "x-goog-iap-jwt-assertion",
    ];

    /// <summary>
    /// Every request header with a fate other than <see cref="RequestHeaderFate.Forward"/>, for one
    /// lookup per header: hop-by-hop and proxy-owned ones are dropped, and so are <c>content-type</c>
    /// and <c>grpc-timeout</c>, which the forwarder writes itself; credentials go never-indexed.
    /// </summary>
    private static readonly FrozenDictionary<string, RequestHeaderFate> RequestHeaderFates = Credentials
        .Select(name => KeyValuePair.Create(name, RequestHeaderFate.ForwardNeverIndexed))
        .Concat(HopByHop.Concat(ProxyOwned).Append(GrpcProtocol.ContentTypeHeader).Append(GrpcProtocol.TimeoutHeader)
            .Select(name => KeyValuePair.Create(name, RequestHeaderFate.Drop)))
        .ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);

    /// <summary>The same, for names in lower case (every HTTP/2 name): compared as they are, not case by case.</summary>
    private static readonly FrozenDictionary<string, RequestHeaderFate> LowerCaseRequestHeaderFates =
        RequestHeaderFates.ToFrozenDictionary(fate => fate.Key.ToLowerInvariant(), fate => fate.Value, StringComparer.Ordinal);

    public static RequestHeaderFate FateOfRequestHeader(string name)
    {
        if (name.Length == 0 || name[0] == ':')
            return RequestHeaderFate.Drop;
        if (LowerCaseRequestHeaderFates.TryGetValue(name, out var fate))
            return fate;
        // HTTP/1.1 names (Kestrel's listeners) come in any case.
        return name.AsSpan().ContainsAnyInRange('A', 'Z') ? RequestHeaderFates.GetValueOrDefault(name, RequestHeaderFate.Forward) : RequestHeaderFate.Forward;
    }

    /// <summary>Kestrel's names for the headers it knows (<c>User-Agent</c>, ...) in the lower case HTTP/2 requires.</summary>
    private static readonly FrozenDictionary<string, string> KnownLowerCase = typeof(Microsoft.Net.Http.Headers.HeaderNames)
        .GetFields(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static)
        .Select(field => field.GetValue(null))
        .OfType<string>()
        .Distinct(StringComparer.Ordinal)
        .ToFrozenDictionary(name => name, name => name.ToLowerInvariant(), StringComparer.Ordinal);

    /// <summary>A header name as HTTP/2 sends it (lower case), without allocating for Kestrel's known names.</summary>
    public static string LowerCase(string name)
    {
        if (!name.AsSpan().ContainsAnyInRange('A', 'Z'))
            return name;
        return KnownLowerCase.TryGetValue(name, out var lower) ? lower : name.ToLowerInvariant();
    }

    /// <summary>Removes every proxy-owned header a caller sent.</summary>
    public static void RemoveProxyOwned(Microsoft.AspNetCore.Http.IHeaderDictionary headers)
    {
        // Our HTTP/2 server's headers: one pass, and every proxy-owned name starts with "x-".
        if (headers is HeaderFieldList fields)
        {
            fields.RemoveWhere(static name => name.StartsWith("x-", StringComparison.OrdinalIgnoreCase) && ProxyOwned.Contains(name));
            return;
        }
        foreach (var name in ProxyOwned.Items)
            headers.Remove(name);
    }
}

/// <summary>What becomes of a caller's header on its way to the backend.</summary>
internal enum RequestHeaderFate
{
    Forward,
    ForwardNeverIndexed,
    Drop,
}

/// <summary>Who called, as far as the proxy checked: what the backend is told.</summary>
/// <param name="UserInfo">The <c>X-Endpoint-API-UserInfo</c> value, when a JWT verified.</param>
/// <param name="ApiKey">The API key's record, when the method needed one.</param>
internal readonly record struct CallerIdentity(string? UserInfo, ApiKeys.ApiKeyRecord? ApiKey);
