using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Esp.Auth;
using Xunit;

namespace Esp.Tests.Auth.Interop;

/// <summary>
/// What <c>X-Endpoint-API-UserInfo</c> must hold for a token, per <c>--user_info_format</c>,
/// worked out from the token text alone (no proxy code):
/// esp: base64url with padding of <c>{"id": sub, "issuer": iss, "email": email, "audiences": [...], "claims": {payload}}</c>;
/// esp-legacy: the same with <c>"claims"</c> first and a JSON string;
/// espv2: the token's payload segment exactly as sent.
/// </summary>
internal static partial class UserInfoAssert
{
    public static void Matches(string value, string token, UserInfoFormat format)
    {
        var payloadSegment = token.Split('.')[1];
        if (format == UserInfoFormat.EspV2)
        {
            Assert.Equal(payloadSegment, value);
            return;
        }

        Assert.Matches(PaddedBase64Url(), value);
        Assert.True(value.Length % 4 == 0, $"not padded to a multiple of 4: {value}");
        var info = JsonNode.Parse(Convert.FromBase64String(value.Replace('-', '+').Replace('_', '/')))!.AsObject();
        var payload = Payload(token);

        var names = info.Select(p => p.Key).ToList();
        Assert.Equal(["audiences", "claims", "email", "id", "issuer"], names.Order(StringComparer.Ordinal));
        Assert.Equal(payload["sub"]!.GetValue<string>(), info["id"]!.GetValue<string>());
        Assert.Equal(payload["iss"]!.GetValue<string>(), info["issuer"]!.GetValue<string>());
        Assert.Equal(payload["email"]!.GetValue<string>(), info["email"]!.GetValue<string>());
        Assert.Equal(Audiences(payload), info["audiences"]!.AsArray().Select(a => a!.GetValue<string>()));

        JsonNode claims;
        if (format == UserInfoFormat.EspLegacy)
        {
            Assert.Equal("claims", names[0]);
            claims = JsonNode.Parse(info["claims"]!.GetValue<string>())!;
        }
        else
        {
            claims = info["claims"]!;
        }
        Assert.True(JsonNode.DeepEquals(payload, claims), $"claims {claims.ToJsonString()} differ from the payload {payload.ToJsonString()}");
    }

    /// <summary>The token's payload, decoded here (padded or not).</summary>
    public static JsonObject Payload(string token) => Segment(token, 1);

    /// <summary>A segment of the token (0: header, 1: payload) as JSON, decoded here (padded or not).</summary>
    public static JsonObject Segment(string token, int index)
    {
        var segment = token.Split('.')[index].TrimEnd('=').Replace('-', '+').Replace('_', '/');
        segment = segment.PadRight(segment.Length + ((4 - (segment.Length % 4)) % 4), '=');
        return JsonNode.Parse(Convert.FromBase64String(segment))!.AsObject();
    }

    private static IEnumerable<string> Audiences(JsonObject payload) =>
        payload["aud"] is JsonArray list ? list.Select(a => a!.GetValue<string>()) : [payload["aud"]!.GetValue<string>()];

    [GeneratedRegex("^[A-Za-z0-9_-]+={0,2}$")]
    private static partial Regex PaddedBase64Url();
}
