using System.Text;
using System.Text.Json;

namespace Esp.Auth.Jwt;

/// <summary>
/// Strict compact JWS parsing (RFC 7515 §7.1, hardened per RFC 8725): exactly three non-empty
/// base64url segments; header and payload JSON objects without duplicate names; a supported
/// <c>alg</c>; no <c>crit</c> extensions; registered claims of the right JSON type. The header's
/// <c>jwk</c>, <c>jku</c>, <c>x5u</c> and <c>x5c</c> are never read: keys come from the provider only.
/// </summary>
internal static class JwtParser
{
    /// <summary>Tokens longer than this are refused before any decoding.</summary>
    public const int MaxTokenLength = 16 * 1024;

    private static readonly JsonDocumentOptions JsonOptions = new() { MaxDepth = 32 };

    public static bool TryParse(string token, out JwtToken parsed, out AuthFailure failure)
    {
        parsed = null!;
        if (token.Length > MaxTokenLength)
            return Fail(AuthFailure.TooLarge, out failure);
        var first = token.IndexOf('.', StringComparison.Ordinal);
        var second = first < 0 ? -1 : token.IndexOf('.', first + 1);
        if (first <= 0 || second <= first + 1 || second == token.Length - 1 || token.IndexOf('.', second + 1) >= 0)
            return Fail(AuthFailure.BadFormat, out failure);

        var headerSegment = token.AsSpan(0, first);
        var payloadSegment = token.AsSpan(first + 1, second - first - 1);
        var signatureSegment = token.AsSpan(second + 1);
        if (!Base64Url.TryDecode(headerSegment, out var headerJson))
            return Fail(AuthFailure.HeaderBadBase64, out failure);
        if (!Base64Url.TryDecode(payloadSegment, out var payloadJson))
            return Fail(AuthFailure.PayloadBadBase64, out failure);
        if (!Base64Url.TryDecode(signatureSegment, out var signature))
            return Fail(AuthFailure.SignatureBadBase64, out failure);

        if (!TryReadHeader(headerJson, out var algorithm, out var keyId, out failure))
            return false;
        if (!TryReadClaims(payloadJson, out var claims, out failure))
            return false;

        parsed = new JwtToken
        {
            Raw = token,
            Algorithm = algorithm,
            KeyId = keyId,
            SigningInput = Encoding.ASCII.GetBytes(token, 0, second),
            Signature = signature,
            PayloadSegment = payloadSegment.ToString(),
            PayloadJson = payloadJson,
            Issuer = claims.Issuer,
            Subject = claims.Subject,
            Email = claims.Email,
            Audiences = claims.Audiences,
            ExpiresAt = claims.ExpiresAt,
            NotBefore = claims.NotBefore,
        };
        return true;
    }

    private static bool TryReadHeader(byte[] json, out JwtAlgorithm algorithm, out string? keyId, out AuthFailure failure)
    {
        algorithm = null!;
        keyId = null;
        if (!TryParseObject(json, out var document))
            return Fail(AuthFailure.HeaderBadJson, out failure);
        using (document)
        {
            var header = document.RootElement;
            if (!header.TryGetProperty("alg", out var alg) || alg.ValueKind != JsonValueKind.String)
                return Fail(AuthFailure.HeaderBadAlg, out failure);
            if (!JwtAlgorithm.Supported.TryGetValue(alg.GetString()!, out algorithm!))
                return Fail(AuthFailure.HeaderAlgNotImplemented, out failure);
            if (header.TryGetProperty("kid", out var kid))
            {
                if (kid.ValueKind != JsonValueKind.String)
                    return Fail(AuthFailure.HeaderBadKid, out failure);
                keyId = kid.GetString() is { Length: > 0 } id ? id : null;
            }
            // RFC 7515 §4.1.11: extensions listed in crit MUST be understood; we understand none.
            if (header.TryGetProperty("crit", out _))
                return Fail(AuthFailure.HeaderUnknownCrit, out failure);
        }
        failure = default;
        return true;
    }

    private sealed record Claims(string? Issuer, string? Subject, string? Email, IReadOnlyList<string> Audiences, long? ExpiresAt, long? NotBefore);

    private static bool TryReadClaims(byte[] json, out Claims claims, out AuthFailure failure)
    {
        claims = null!;
        if (!TryParseObject(json, out var document))
            return Fail(AuthFailure.PayloadBadJson, out failure);
        using (document)
        {
            var payload = document.RootElement;
            if (!TryString(payload, "iss", out var issuer, out failure)
                || !TryString(payload, "sub", out var subject, out failure)
                || !TryString(payload, "jti", out _, out failure)
                || !TryString(payload, "email", out var email, out failure)
                || !TryTime(payload, "exp", out var expiresAt, out failure)
                || !TryTime(payload, "nbf", out var notBefore, out failure)
                || !TryTime(payload, "iat", out _, out failure)
                || !TryAudiences(payload, out var audiences, out failure))
            {
                return false;
            }
            claims = new Claims(issuer, subject, email, audiences, expiresAt, notBefore);
        }
        return true;
    }

    /// <summary>
    /// A JSON object in valid UTF-8 (RFC 8725 §3.7) with no duplicate member names at any level
    /// (RFC 8725 §2.6: duplicates are an ambiguity attackers use) and no string that cannot be
    /// decoded (an escaped lone surrogate such as <c>"\ud800"</c>, which System.Text.Json only
    /// reports when the string is read).
    /// </summary>
    private static bool TryParseObject(byte[] json, out JsonDocument document)
    {
        document = null!;
        if (!System.Text.Unicode.Utf8.IsValid(json))
            return false;
        try
        {
            document = JsonDocument.Parse(json, JsonOptions);
        }
        catch (JsonException)
        {
            return false;
        }
        bool wellFormed;
        try
        {
            wellFormed = document.RootElement.ValueKind == JsonValueKind.Object && !HasDuplicateNames(document.RootElement);
        }
        catch (InvalidOperationException)
        {
            wellFormed = false;
        }
        if (wellFormed)
            return true;
        document.Dispose();
        return false;
    }

    /// <summary>Also decodes every string, so that reading one later cannot throw.</summary>
    private static bool HasDuplicateNames(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                _ = element.GetString();
                return false;
            case JsonValueKind.Object:
                var names = new HashSet<string>(StringComparer.Ordinal);
                foreach (var property in element.EnumerateObject())
                {
                    if (!names.Add(property.Name) || HasDuplicateNames(property.Value))
                        return true;
                }
                return false;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    if (HasDuplicateNames(item))
                        return true;
                }
                return false;
            default:
                return false;
        }
    }

    private static bool TryString(JsonElement payload, string claim, out string? value, out AuthFailure failure)
    {
        value = null;
        failure = default;
        if (!payload.TryGetProperty(claim, out var element))
            return true;
        if (element.ValueKind != JsonValueKind.String)
            return Fail(AuthFailure.NotAString(claim), out failure);
        value = element.GetString();
        return true;
    }

    /// <summary>NumericDate (RFC 7519 §2): a non-negative number of seconds; a fraction is cut off, never rounded up.</summary>
    private static bool TryTime(JsonElement payload, string claim, out long? value, out AuthFailure failure)
    {
        value = null;
        failure = default;
        if (!payload.TryGetProperty(claim, out var element))
            return true;
        if (element.ValueKind != JsonValueKind.Number)
            return Fail(AuthFailure.NotAnInteger(claim), out failure);
        if (element.TryGetInt64(out var whole))
        {
            if (whole < 0)
                return Fail(AuthFailure.OutOfRange(claim), out failure);
            value = whole;
            return true;
        }
        var number = element.GetDouble();
        if (number is < 0 or >= 9.2e18 || double.IsNaN(number))
            return Fail(AuthFailure.OutOfRange(claim), out failure);
        value = (long)Math.Floor(number);
        return true;
    }

    private static bool TryAudiences(JsonElement payload, out IReadOnlyList<string> audiences, out AuthFailure failure)
    {
        audiences = [];
        failure = default;
        if (!payload.TryGetProperty("aud", out var aud))
            return true;
        if (aud.ValueKind == JsonValueKind.String)
        {
            audiences = [aud.GetString()!];
            return true;
        }
        if (aud.ValueKind != JsonValueKind.Array)
            return Fail(AuthFailure.AudNotStringOrList, out failure);
        var list = new List<string>(aud.GetArrayLength());
        foreach (var item in aud.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String)
                return Fail(AuthFailure.AudNotStringOrList, out failure);
            list.Add(item.GetString()!);
        }
        audiences = list;
        return true;
    }

    private static bool Fail(AuthFailure reason, out AuthFailure failure)
    {
        failure = reason;
        return false;
    }
}
