using System.Security.Cryptography;
using System.Text;

namespace Esp.ApiKeys;

/// <summary>Makes new API keys and hashes presented ones.</summary>
internal static class ApiKeySecrets
{
    /// <summary>Every key this tool makes starts so, which makes a leaked one easy to recognise (and to scan for).</summary>
    public const string Prefix = "esp_";

    /// <summary>Longer presented keys are refused without hashing: no caller needs more, and hashing costs.</summary>
    public const int MaxKeyLength = 256;

    /// <summary>A new key: the prefix and 256 random bits, base64url (47 characters, safe in a URL and a header).</summary>
    public static string NewKey() => Prefix + System.Buffers.Text.Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));

    public static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));

    /// <summary>Hashes a presented key into <paramref name="hash"/> (32 bytes); false when it is too long to be one.</summary>
    public static bool TryHash(ReadOnlySpan<char> key, Span<byte> hash)
    {
        if (key.Length == 0 || key.Length > MaxKeyLength)
            return false;
        Span<byte> utf8 = stackalloc byte[MaxKeyLength * 3];
        var length = Encoding.UTF8.GetBytes(key, utf8);
        SHA256.HashData(utf8[..length], hash);
        return true;
    }
}
