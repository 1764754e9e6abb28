using System.Text;

namespace Esp.Grpc.Protocol;

/// <summary>
/// <c>grpc-message</c> encoding: UTF-8, then every byte outside %x20-%x7E, and '%' itself, as %XX.
/// Decoding never fails: a malformed escape is kept as it is, as the spec asks.
/// </summary>
internal static class PercentEncoding
{
    public static string Encode(string value)
    {
        var needed = 0;
        foreach (var c in value)
        {
            if (NeedsEscape(c))
                needed++;
        }
        if (needed == 0)
            return value;

        var utf8 = Encoding.UTF8.GetBytes(value);
        var builder = new StringBuilder(utf8.Length + (needed * 6));
        foreach (var b in utf8)
        {
            if (NeedsEscape((char)b))
                builder.Append('%').Append(HexDigit(b >> 4)).Append(HexDigit(b & 0xF));
            else
                builder.Append((char)b);
        }
        return builder.ToString();
    }

    public static string Decode(string value)
    {
        if (!value.Contains('%', StringComparison.Ordinal))
            return value;

        var bytes = new List<byte>(value.Length);
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (c == '%' && i + 2 < value.Length && TryHex(value[i + 1], out var hi) && TryHex(value[i + 2], out var lo))
            {
                bytes.Add((byte)((hi << 4) | lo));
                i += 2;
            }
            else if (c <= '\x7F')
            {
                bytes.Add((byte)c);
            }
            else
            {
                // Not valid on the wire, but keep what we were given rather than lose it.
                var length = char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]) ? 2 : 1;
                bytes.AddRange(Encoding.UTF8.GetBytes(value.Substring(i, length)));
                i += length - 1;
            }
        }
        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    private static bool NeedsEscape(char c) => c is < '\x20' or > '\x7E' or '%';

    private static char HexDigit(int v) => (char)(v < 10 ? '0' + v : 'A' + v - 10);

    private static bool TryHex(char c, out int value)
    {
        value = c switch
        {
            >= '0' and <= '9' => c - '0',
            >= 'a' and <= 'f' => c - 'a' + 10,
            >= 'A' and <= 'F' => c - 'A' + 10,
            _ => -1,
        };
        return value >= 0;
    }
}
