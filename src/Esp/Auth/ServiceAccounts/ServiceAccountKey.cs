using System.Globalization;
using System.Security.Cryptography;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Esp.Auth.ServiceAccounts;

/// <summary>
/// A service account key in Google's JSON key file format (what the Cloud console downloads and
/// <c>gcloud iam service-accounts keys create</c> writes): an RSA key with the account's identity.
/// </summary>
internal sealed class ServiceAccountKey : IDisposable
{
    public const string DefaultUniverseDomain = "googleapis.com";

    /// <summary>Google's keys are RSA-2048; the proxy refuses smaller RSA keys.</summary>
    private const int KeyBits = 2048;

    private static readonly JsonWriterOptions FileFormat = new()
    {
        Indented = true,
        // As Google writes it: "+" and "/" of the PEM body stay as they are; only the newlines are escaped.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private ServiceAccountKey(RSA rsa, string privateKeyId, string clientEmail)
    {
        Rsa = rsa;
        PrivateKeyId = privateKeyId;
        ClientEmail = clientEmail;
    }

    /// <summary>The key pair. Never logged or printed.</summary>
    public RSA Rsa { get; }

    /// <summary>The key's id: the <c>kid</c> of tokens it signs and of its published certificate and JWK.</summary>
    public string PrivateKeyId { get; }

    public string ClientEmail { get; }

    public string ProjectId { get; private init; } = "";

    public string ClientId { get; private init; } = "";

    public string UniverseDomain { get; private init; } = DefaultUniverseDomain;

    /// <summary>A new RSA-2048 key for the account, with a random 40-hex-digit key id and 21-digit client id.</summary>
    public static ServiceAccountKey Create(string email)
    {
        if (!ServiceAccountEmail.TryParse(email, out var projectId, out var problem))
            throw new ArgumentException(problem, nameof(email));
        var rsa = RSA.Create(KeyBits);
        return new ServiceAccountKey(rsa, Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(20)), email)
        {
            ProjectId = projectId,
            ClientId = "1" + string.Concat(Enumerable.Range(0, 20).Select(_ => RandomNumberGenerator.GetInt32(10).ToString(CultureInfo.InvariantCulture))),
        };
    }

    /// <summary>Reads a key file as Google issues it (or as <c>esp keys create</c> writes it).</summary>
    /// <returns>The key, or null with what is wrong (the file named, the key never shown).</returns>
    public static ServiceAccountKey? Load(string path, out string? problem)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            problem = ex is FileNotFoundException or DirectoryNotFoundException
                ? $"{path}: no such file"
                : $"{path}: cannot read: {ex.Message}";
            return null;
        }
        var key = Parse(text, out problem);
        if (problem is not null)
            problem = $"{path}: {problem}";
        return key;
    }

    /// <returns>The key, or null with what is wrong.</returns>
    public static ServiceAccountKey? Parse(string json, out string? problem)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException)
        {
            problem = "not a service account key file: not JSON";
            return null;
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                problem = "not a service account key file: not a JSON object";
                return null;
            }
            if (StringOf(root, "type") != "service_account")
            {
                problem = "not a service account key file: \"type\" is not \"service_account\"";
                return null;
            }
            foreach (var field in new[] { "private_key_id", "private_key", "client_email" })
            {
                if (StringOf(root, field) is not { Length: > 0 })
                {
                    problem = $"not a service account key file: no \"{field}\"";
                    return null;
                }
            }
            var rsa = RSA.Create();
            try
            {
                // PKCS#8 ("BEGIN PRIVATE KEY", as Google writes) or PKCS#1 ("BEGIN RSA PRIVATE KEY").
                rsa.ImportFromPem(StringOf(root, "private_key"));
            }
            catch (Exception ex) when (ex is ArgumentException or CryptographicException)
            {
                rsa.Dispose();
                problem = "\"private_key\" is not an unencrypted RSA private key in PEM";
                return null;
            }
            if (rsa.KeySize < KeyBits)
            {
                var bits = rsa.KeySize;
                rsa.Dispose();
                problem = $"\"private_key\" is an RSA key of {bits} bits; at least {KeyBits} are needed (the proxy refuses smaller keys)";
                return null;
            }
            problem = null;
            return new ServiceAccountKey(rsa, StringOf(root, "private_key_id")!, StringOf(root, "client_email")!)
            {
                ProjectId = StringOf(root, "project_id") ?? "",
                ClientId = StringOf(root, "client_id") ?? "",
                UniverseDomain = StringOf(root, "universe_domain") ?? DefaultUniverseDomain,
            };
        }
    }

    /// <summary>Every field Google writes, in Google's order, two-space indented.</summary>
    public string ToJson()
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, FileFormat))
        {
            writer.WriteStartObject();
            writer.WriteString("type", "service_account");
            writer.WriteString("project_id", ProjectId);
            writer.WriteString("private_key_id", PrivateKeyId);
            writer.WriteString("private_key", PemEncoding.WriteString("PRIVATE KEY", Rsa.ExportPkcs8PrivateKey()) + "\n");
            writer.WriteString("client_email", ClientEmail);
            writer.WriteString("client_id", ClientId);
            writer.WriteString("auth_uri", "https://accounts.google.com/o/oauth2/auth");
            writer.WriteString("token_uri", "https://oauth2.googleapis.com/token");
            writer.WriteString("auth_provider_x509_cert_url", "https://www.googleapis.com/oauth2/v1/certs");
            writer.WriteString("client_x509_cert_url", "https://www.googleapis.com/robot/v1/metadata/x509/" + Uri.EscapeDataString(ClientEmail));
            writer.WriteString("universe_domain", UniverseDomain);
            writer.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }

    /// <summary>
    /// Writes the key file, readable by its owner only (created with mode 0600, never wider for a moment).
    /// Without <paramref name="overwrite"/> an existing file is an error.
    /// </summary>
    /// <returns>Null, or what went wrong.</returns>
    public string? Save(string path, bool overwrite)
    {
        var full = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(directory))
            return $"{path}: the directory {directory} does not exist";
        if (Directory.Exists(full))
            return $"{path}: is a directory";
        if (!overwrite && File.Exists(full))
            return $"{path} already exists; give --force to replace it";

        // A hidden temporary file renamed into place: a reader (e.g. `esp keys serve` watching the
        // directory) never sees half a file, and a replaced file gets mode 0600 too.
        var temporary = Path.Combine(directory, $".{Path.GetFileName(full)}.{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6))}.tmp");
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            using (var stream = new FileStream(temporary, options))
            {
                stream.Write(System.Text.Encoding.UTF8.GetBytes(ToJson()));
            }
            File.Move(temporary, full, overwrite);
            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            File.Delete(temporary);
            return !overwrite && File.Exists(full) ? $"{path} already exists; give --force to replace it" : $"{path}: cannot write: {ex.Message}";
        }
    }

    public void Dispose() => Rsa.Dispose();

    private static string? StringOf(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
