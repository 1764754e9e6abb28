namespace Esp.Grpc.Http2.Hpack;

/// <summary>
/// HPACK's prefixed integers (RFC 7541 §5.1): the low N bits of a first octet, then, when those are
/// all ones, 7-bit groups least significant first with the high bit set on all but the last.
/// </summary>
internal static class HpackInteger
{
    /// <summary>The most octets an <see cref="int"/> takes: the prefix octet and five continuation octets.</summary>
    public const int MaxLength = 6;

    // Five 7-bit groups carry 35 bits, enough for any int; a sixth is only ever padding or an attack.
    private const int MaxContinuationOctets = 5;

    /// <summary>
    /// Reads the integer at <paramref name="position"/> whose first octet keeps its low
    /// <paramref name="prefixBits"/> bits for the value, and moves <paramref name="position"/> past it.
    /// </summary>
    /// <exception cref="HpackException">The source ends inside the integer, or it does not fit an <see cref="int"/>.</exception>
    public static int Read(ReadOnlySpan<byte> source, ref int position, int prefixBits)
    {
        if ((uint)position >= (uint)source.Length)
            throw Truncated();
        var max = (1 << prefixBits) - 1;
        var value = source[position++] & max;
        if (value < max)
            return value;

        long result = value;
        for (var i = 0; i < MaxContinuationOctets; i++)
        {
            if (position >= source.Length)
                throw Truncated();
            var octet = source[position++];
            result += (long)(octet & 0x7F) << (7 * i);
            if (result > int.MaxValue)
                throw Overflow();
            if (octet < 0x80)
                return (int)result;
        }
        throw Overflow();
    }

    /// <summary>
    /// Writes <paramref name="value"/> with a <paramref name="prefixBits"/>-bit prefix, the first octet's
    /// other bits taken from <paramref name="flags"/>; returns the octets written (at most <see cref="MaxLength"/>).
    /// </summary>
    public static int Write(Span<byte> destination, int value, int prefixBits, byte flags)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(value);
        var max = (1 << prefixBits) - 1;
        if (value < max)
        {
            destination[0] = (byte)(flags | value);
            return 1;
        }
        destination[0] = (byte)(flags | max);
        var rest = (uint)(value - max);
        var written = 1;
        for (; rest >= 0x80; rest >>= 7)
            destination[written++] = (byte)(rest | 0x80);
        destination[written++] = (byte)rest;
        return written;
    }

    private static HpackException Truncated() => new("HPACK: the block ends inside an integer");

    private static HpackException Overflow() => new("HPACK: integer overflows");
}
