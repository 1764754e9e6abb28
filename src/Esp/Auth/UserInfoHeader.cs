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
                WriteLegacyFields(writer, token);
            else
                WriteDocumentedFields(writer, token);
            writer.WriteEndObject();
        }
        return Convert.ToBase64String(json.GetBuffer(), 0, (int)json.Length).Replace('+', '-').Replace('/', '_');
    }

    /// <summary>The seeds' documented shape: id, issuer, email, audiences, then the claims as an object.</summary>
    private static void WriteDocumentedFields(Utf8JsonWriter writer, JwtToken token)
    {
        WriteIfPresent(writer, "id", token.Subject);
        WriteIfPresent(writer, "issuer", token.Issuer);
        WriteIfPresent(writer, "email", token.Email);
        WriteAudiences(writer, token.Audiences.Distinct(StringComparer.Ordinal));
        writer.WritePropertyName("claims");
        writer.WriteRawValue(token.PayloadJson, skipInputValidation: true);
    }

    /// <summary>What the ESPv1 binary wrote (auth/lib/json.cc): claims as a string first, then issuer, id, email, sorted audiences.</summary>
    private static void WriteLegacyFields(Utf8JsonWriter writer, JwtToken token)
    {
        writer.WriteString("claims", Encoding.UTF8.GetString(token.PayloadJson));
        WriteIfPresent(writer, "issuer", token.Issuer);
        WriteIfPresent(writer, "id", token.Subject);
        WriteIfPresent(writer, "email", token.Email);
        WriteAudiences(writer, token.Audiences.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal));
    }

    private static void WriteAudiences(Utf8JsonWriter writer, IEnumerable<string> audiences)
    {
        writer.WriteStartArray("audiences");
        foreach (var audience in audiences)
            writer.WriteStringValue(audience);
        writer.WriteEndArray();
    }

    private static void WriteIfPresent(Utf8JsonWriter writer, string name, string? value)
    {
        if (value is not null)
            writer.WriteString(name, value);
    }
}
