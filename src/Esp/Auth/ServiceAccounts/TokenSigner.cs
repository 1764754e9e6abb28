using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Esp.Auth.Jwt;

namespace Esp.Auth.ServiceAccounts;

/// <summary>
/// Makes the tokens of the Cloud Endpoints sample <c>jwt_token_gen.py</c>: RS256 signed with a service
/// account key, header <c>{"alg", "typ", "kid": private_key_id}</c>, payload
/// <c>{iat, exp, aud, iss, sub = iss, email}</c>. Segments are base64url without padding.
/// </summary>
internal static class TokenSigner
{
    /// <summary>The sample's dummy user.</summary>
    public const string DefaultEmail = "user@example.com";

    /// <summary>The sample's <c>MAX_TOKEN_LIFETIME_SECS</c>.</summary>
    public static readonly TimeSpan DefaultLifetime = TimeSpan.FromHours(1);

    /// <summary>
    /// A signed token. One audience is written as a string (as the sample passes it), several as a list.
    /// A lifetime that is negative, or an <paramref name="issuedAt"/> long past, makes an expired token.
    /// </summary>
    public static string Sign(ServiceAccountKey key, string issuer, IReadOnlyList<string> audiences, string email = DefaultEmail,
        TimeSpan? lifetime = null, DateTimeOffset? issuedAt = null)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentOutOfRangeException.ThrowIfZero(audiences.Count, nameof(audiences));
        var iat = (issuedAt ?? DateTimeOffset.UtcNow).ToUnixTimeSeconds();
        var exp = iat + (long)(lifetime ?? DefaultLifetime).TotalSeconds;

        var header = Json(writer =>
        {
            writer.WriteString("alg", "RS256");
            writer.WriteString("typ", "JWT");
            writer.WriteString("kid", key.PrivateKeyId);
        });
        var payload = Json(writer =>
        {
            writer.WriteNumber("iat", iat);
            writer.WriteNumber("exp", exp);
            if (audiences.Count == 1)
            {
                writer.WriteString("aud", audiences[0]);
            }
            else
            {
                writer.WriteStartArray("aud");
                foreach (var audience in audiences)
                    writer.WriteStringValue(audience);
                writer.WriteEndArray();
            }
            writer.WriteString("iss", issuer);
            writer.WriteString("sub", issuer);
            writer.WriteString("email", email);
        });
        var signingInput = Base64Url.Encode(header) + "." + Base64Url.Encode(payload);
        var signature = key.Rsa.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return signingInput + "." + Base64Url.Encode(signature);
    }

    /// <summary><c>--audiences</c>: comma-separated, each trimmed, empty entries dropped.</summary>
    public static IReadOnlyList<string> SplitAudiences(string? text) =>
        (text ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);

    private static byte[] Json(Action<Utf8JsonWriter> members)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            members(writer);
            writer.WriteEndObject();
        }
        return buffer.ToArray();
    }
}
