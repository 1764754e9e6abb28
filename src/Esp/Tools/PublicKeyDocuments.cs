using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Esp.Auth.Jwt;
using Esp.Auth.ServiceAccounts;

namespace Esp.Tools;

/// <summary>A service account key's public half, as Google publishes it: a certificate and a JWK.</summary>
internal sealed record PublishedKey(string Email, string KeyId, string CertificatePem, string Modulus, string Exponent)
{
    /// <summary>
    /// The public parts of <paramref name="key"/>. The certificate is self-signed (CN = the email) and
    /// deterministic: its serial comes from the key id and its validity (10 years) from
    /// <paramref name="notBefore"/>, so the same key file always publishes the same certificate.
    /// </summary>
    public static PublishedKey From(ServiceAccountKey key, DateTimeOffset notBefore)
    {
        var parameters = key.Rsa.ExportParameters(includePrivateParameters: false);
        return new PublishedKey(key.ClientEmail, key.PrivateKeyId, CreateCertificatePem(key, notBefore),
            Base64Url.Encode(parameters.Modulus), Base64Url.Encode(parameters.Exponent));
    }

    private static string CreateCertificatePem(ServiceAccountKey key, DateTimeOffset notBefore)
    {
        var name = new X500DistinguishedNameBuilder();
        name.AddCommonName(key.ClientEmail);
        var subject = name.Build();
        var request = new CertificateRequest(subject, key.Rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        // A positive serial of at most 20 octets (RFC 5280 §4.1.2.2).
        var serial = SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(key.PrivateKeyId))[..16];
        serial[0] &= 0x7F;
        var start = DateTimeOffset.FromUnixTimeSeconds(notBefore.ToUnixTimeSeconds());
        using var certificate = request.Create(subject, X509SignatureGenerator.CreateForRSA(key.Rsa, RSASignaturePadding.Pkcs1),
            start, start.AddYears(10), serial);
        return certificate.ExportCertificatePem() + "\n";
    }
}

/// <summary>The two documents Google serves for a service account: its X.509 certificate map and its JWKS.</summary>
internal static class PublicKeyDocuments
{
    /// <summary><c>{"KID": "-----BEGIN CERTIFICATE-----..."}</c>, as <c>/robot/v1/metadata/x509/EMAIL</c>.</summary>
    public static byte[] CertificateMap(IEnumerable<PublishedKey> keys) => Write(writer =>
    {
        writer.WriteStartObject();
        foreach (var key in keys)
            writer.WriteString(key.KeyId, key.CertificatePem);
        writer.WriteEndObject();
    });

    /// <summary><c>{"keys": [{"kty": "RSA", ...}]}</c>, as <c>/service_accounts/v1/jwk/EMAIL</c>.</summary>
    public static byte[] Jwks(IEnumerable<PublishedKey> keys) => Write(writer =>
    {
        writer.WriteStartObject();
        writer.WriteStartArray("keys");
        foreach (var key in keys)
        {
            writer.WriteStartObject();
            writer.WriteString("kty", "RSA");
            writer.WriteString("alg", "RS256");
            writer.WriteString("use", "sig");
            writer.WriteString("kid", key.KeyId);
            writer.WriteString("n", key.Modulus);
            writer.WriteString("e", key.Exponent);
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
        writer.WriteEndObject();
    });

    /// <summary>Google's error shape: <c>{"error": {"code": 404, "message": "...", "status": "NOT_FOUND"}}</c>.</summary>
    public static byte[] Error(int code, string status, string message) => Write(writer =>
    {
        writer.WriteStartObject();
        writer.WriteStartObject("error");
        writer.WriteNumber("code", code);
        writer.WriteString("message", message);
        writer.WriteString("status", status);
        writer.WriteEndObject();
        writer.WriteEndObject();
    });

    private static byte[] Write(Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions
        {
            Indented = true,
            Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        }))
        {
            write(writer);
        }
        buffer.WriteByte((byte)'\n');
        return buffer.ToArray();
    }
}
