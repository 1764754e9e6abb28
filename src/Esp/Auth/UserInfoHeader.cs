using System.Text;
using System.Text.Json;
using Esp.Auth.Jwt;

namespace Esp.Auth;

/// <summary><c>--user_info_format</c>: how <c>X-Endpoint-API-UserInfo</c> is spelled for the backend.</summary>
internal enum UserInfoFormat
{
    /// <summary>The seeds' documented JSON, claims as an object, base64url with padding.</summary>
    Esp,

    /// <summary>What the ESPv1 binary sent: the same fields, claims as a JSON string.</summary>
    EspLegacy,

    /// <summary>ESPv2: the token's payload segment as received.</summary>
    EspV2,
}

/// <summary>Builds the value of <c>X-Endpoint-API-UserInfo</c> from a verified token.</summary>
internal static class UserInfoHeader
{
    public const string Name = "x-endpoint-api-userinfo";

    public static string Create(JwtToken token, UserInfoFormat format)
    {
        if (format == UserInfoFormat.EspV2)
            return token.PayloadSegment;
        using var json = new MemoryStream();
        using (var writer = new Utf8JsonWriter(json))
        {
            writer.WriteStartObject();
            if (format == UserInfoFormat.EspLegacy)
                writer.WriteString("claims", Encoding.UTF8.GetString(token.PayloadJson));
            WriteIfPresent(writer, "id", token.Subject);
            WriteIfPresent(writer, "issuer", token.Issuer);
            WriteIfPresent(writer, "email", token.Email);
            writer.WriteStartArray("audiences");
            foreach (var audience in token.Audiences.Distinct(StringComparer.Ordinal))
                writer.WriteStringValue(audience);
            writer.WriteEndArray();
            if (format == UserInfoFormat.Esp)
            {
                writer.WritePropertyName("claims");
                writer.WriteRawValue(token.PayloadJson, skipInputValidation: true);
            }
            writer.WriteEndObject();
        }
        return Convert.ToBase64String(json.GetBuffer(), 0, (int)json.Length).Replace('+', '-').Replace('/', '_');
    }

    private static void WriteIfPresent(Utf8JsonWriter writer, string name, string? value)
    {
        if (value is not null)
            writer.WriteString(name, value);
    }
}
