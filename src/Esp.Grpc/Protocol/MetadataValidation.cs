using System.Buffers;

namespace Esp.Grpc.Protocol;

/// <summary>The character rules for metadata keys and ASCII values (PROTOCOL-HTTP2.md "Custom-Metadata").</summary>
internal static class MetadataValidation
{
    private static readonly SearchValues<char> KeyChars = SearchValues.Create("abcdefghijklmnopqrstuvwxyz0123456789-_.");

    // Every call's header values pass here, tokens of ~1 KB among them: vectorized searches, not a char loop.
    public static bool IsValidKey(string key) => key.Length > 0 && !key.AsSpan().ContainsAnyExcept(KeyChars);

    public static bool IsValidAsciiValue(string value) => !value.AsSpan().ContainsAnyExceptInRange('\x20', '\x7E');
}
