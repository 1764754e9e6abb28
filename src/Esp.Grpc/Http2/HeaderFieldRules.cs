using System.Buffers;

namespace Esp.Grpc.Http2;

/// <summary>What HTTP/2 allows in a header field (RFC 9113 §8.2), for both directions.</summary>
internal static class HeaderFieldRules
{
    /// <summary>What makes a field malformed in HTTP/2 (RFC 9113 §8.2.1, §8.2.2), or null.</summary>
    public static string? Malformed(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        if (name.IsEmpty)
            return "an empty header name";
        if (name[1..].ContainsAny(ForbiddenInName) || (name[0] != (byte)':' && ForbiddenInName.Contains(name[0])))
            return name.ContainsAnyInRange((byte)'A', (byte)'Z') ? "an upper-case header name" : "a header name with a forbidden character";
        if (value.ContainsAny(ForbiddenInValue))
            return "a header value with NUL, CR or LF";
        if (!value.IsEmpty && (value[0] is (byte)' ' or (byte)'\t' || value[^1] is (byte)' ' or (byte)'\t'))
            return "a header value with leading or trailing whitespace";
        if (IsConnectionSpecific(name))
            return "a connection-specific header";
        return null;
    }

    /// <summary>
    /// Octets a field name may not contain: controls, space, upper case, DEL and above, and a colon
    /// anywhere but at the start of a pseudo-header (RFC 9113 §8.2.1).
    /// </summary>
    private static readonly SearchValues<byte> ForbiddenInName = SearchValues.Create(
        [.. Enumerable.Range(0x00, 0x21).Select(b => (byte)b), (byte)':', .. Enumerable.Range('A', 26).Select(b => (byte)b), .. Enumerable.Range(0x7f, 0x81).Select(b => (byte)b)]);

    private static readonly SearchValues<byte> ForbiddenInValue = SearchValues.Create([0x00, 0x0a, 0x0d]);

    public static bool IsConnectionSpecific(ReadOnlySpan<byte> name) => name.Length switch
    {
        7 => name.SequenceEqual("upgrade"u8),
        10 => name.SequenceEqual("connection"u8) || name.SequenceEqual("keep-alive"u8),
        16 => name.SequenceEqual("proxy-connection"u8),
        17 => name.SequenceEqual("transfer-encoding"u8),
        _ => false,
    };

    public static bool IsConnectionSpecific(string name) => name is "connection" or "keep-alive" or "proxy-connection" or "transfer-encoding" or "upgrade";
}
