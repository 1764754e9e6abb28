namespace Esp.Auth.Jwt;

/// <summary>
/// Strict base64url (RFC 7515 §2): the URL-safe alphabet, no padding, no whitespace, and no
/// non-canonical spellings (a length ≡ 1 mod 4, or unused trailing bits that are not zero).
/// A token then has exactly one spelling, so it cannot be re-encoded past a cache or a check.
/// </summary>
internal static class Base64Url
{
    public static bool TryDecode(ReadOnlySpan<char> text, out byte[] bytes)
    {
        bytes = [];
        if (text.Length % 4 == 1)
            return false;
        foreach (var c in text)
        {
            if (!IsAlphabet(c))
                return false;
        }
        if (!HasCanonicalTail(text))
            return false;
        // DecodeFromChars reports bad input as a status; TryDecodeFromChars throws FormatException for it.
        var decoded = new byte[text.Length * 3 / 4];
        if (System.Buffers.Text.Base64Url.DecodeFromChars(text, decoded, out var consumed, out var written) != System.Buffers.OperationStatus.Done
            || consumed != text.Length || written != decoded.Length)
        {
            return false;
        }
        bytes = decoded;
        return true;
    }

    public static string Encode(ReadOnlySpan<byte> bytes) => System.Buffers.Text.Base64Url.EncodeToString(bytes);

    private static bool IsAlphabet(char c) => c is (>= 'A' and <= 'Z') or (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '_';

    /// <summary>The bits a final partial group does not use must be zero (2 chars: 4 bits, 3 chars: 2 bits).</summary>
    private static bool HasCanonicalTail(ReadOnlySpan<char> text)
    {
        var remainder = text.Length % 4;
        if (remainder == 0)
            return true;
        var unusedBits = remainder == 2 ? 0b1111 : 0b11;
        return (Value(text[^1]) & unusedBits) == 0;
    }

    private static int Value(char c) => c switch
    {
        >= 'A' and <= 'Z' => c - 'A',
        >= 'a' and <= 'z' => c - 'a' + 26,
        >= '0' and <= '9' => c - '0' + 52,
        '-' => 62,
        _ => 63,
    };
}
