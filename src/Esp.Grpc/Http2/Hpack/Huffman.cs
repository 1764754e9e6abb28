using System.Buffers.Binary;
using System.Diagnostics;

namespace Esp.Grpc.Http2.Hpack;

/// <summary>
/// The canonical Huffman code of HPACK string literals (RFC 7541 §5.2, Appendix B). Decoding is
/// strict: padding longer than 7 bits, padding that is not the most significant bits of EOS (all
/// ones), and an EOS symbol inside the string are errors.
/// </summary>
internal static class Huffman
{
    private const int Eos = 256;

    // Codes of at most this many bits decode with one lookup (all but a few printable ASCII octets);
    // longer ones by the canonical structure (see LongCodes).
    private const int PrimaryBits = 11;

    // The longest code (EOS and a few control octets) is 30 bits.
    private const int MaxCodeLength = 30;

    /// <summary>
    /// RFC 7541 Appendix B: the code of each symbol (octets 0-255, then EOS), right-aligned. Taken from
    /// the RFC's table (as python3-hpack's hpack.huffman_constants carries it). The code is canonical: the
    /// decoder relies on it, and the round trip of every octet in the tests checks it.
    /// </summary>
    private static ReadOnlySpan<uint> Codes =>
    [
        0x1ff8, 0x7fffd8, 0xfffffe2, 0xfffffe3, 0xfffffe4, 0xfffffe5, 0xfffffe6, 0xfffffe7, // 0-7
        0xfffffe8, 0xffffea, 0x3ffffffc, 0xfffffe9, 0xfffffea, 0x3ffffffd, 0xfffffeb, 0xfffffec, // 8-15
        0xfffffed, 0xfffffee, 0xfffffef, 0xffffff0, 0xffffff1, 0xffffff2, 0x3ffffffe, 0xffffff3, // 16-23
        0xffffff4, 0xffffff5, 0xffffff6, 0xffffff7, 0xffffff8, 0xffffff9, 0xffffffa, 0xffffffb, // 24-31
        0x14, 0x3f8, 0x3f9, 0xffa, 0x1ff9, 0x15, 0xf8, 0x7fa, // 32-39
        0x3fa, 0x3fb, 0xf9, 0x7fb, 0xfa, 0x16, 0x17, 0x18, // 40-47
        0x0, 0x1, 0x2, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, // 48-55
        0x1e, 0x1f, 0x5c, 0xfb, 0x7ffc, 0x20, 0xffb, 0x3fc, // 56-63
        0x1ffa, 0x21, 0x5d, 0x5e, 0x5f, 0x60, 0x61, 0x62, // 64-71
        0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, // 72-79
        0x6b, 0x6c, 0x6d, 0x6e, 0x6f, 0x70, 0x71, 0x72, // 80-87
        0xfc, 0x73, 0xfd, 0x1ffb, 0x7fff0, 0x1ffc, 0x3ffc, 0x22, // 88-95
        0x7ffd, 0x3, 0x23, 0x4, 0x24, 0x5, 0x25, 0x26, // 96-103
        0x27, 0x6, 0x74, 0x75, 0x28, 0x29, 0x2a, 0x7, // 104-111
        0x2b, 0x76, 0x2c, 0x8, 0x9, 0x2d, 0x77, 0x78, // 112-119
        0x79, 0x7a, 0x7b, 0x7ffe, 0x7fc, 0x3ffd, 0x1ffd, 0xffffffc, // 120-127
        0xfffe6, 0x3fffd2, 0xfffe7, 0xfffe8, 0x3fffd3, 0x3fffd4, 0x3fffd5, 0x7fffd9, // 128-135
        0x3fffd6, 0x7fffda, 0x7fffdb, 0x7fffdc, 0x7fffdd, 0x7fffde, 0xffffeb, 0x7fffdf, // 136-143
        0xffffec, 0xffffed, 0x3fffd7, 0x7fffe0, 0xffffee, 0x7fffe1, 0x7fffe2, 0x7fffe3, // 144-151
        0x7fffe4, 0x1fffdc, 0x3fffd8, 0x7fffe5, 0x3fffd9, 0x7fffe6, 0x7fffe7, 0xffffef, // 152-159
        0x3fffda, 0x1fffdd, 0xfffe9, 0x3fffdb, 0x3fffdc, 0x7fffe8, 0x7fffe9, 0x1fffde, // 160-167
        0x7fffea, 0x3fffdd, 0x3fffde, 0xfffff0, 0x1fffdf, 0x3fffdf, 0x7fffeb, 0x7fffec, // 168-175
        0x1fffe0, 0x1fffe1, 0x3fffe0, 0x1fffe2, 0x7fffed, 0x3fffe1, 0x7fffee, 0x7fffef, // 176-183
        0xfffea, 0x3fffe2, 0x3fffe3, 0x3fffe4, 0x7ffff0, 0x3fffe5, 0x3fffe6, 0x7ffff1, // 184-191
        0x3ffffe0, 0x3ffffe1, 0xfffeb, 0x7fff1, 0x3fffe7, 0x7ffff2, 0x3fffe8, 0x1ffffec, // 192-199
        0x3ffffe2, 0x3ffffe3, 0x3ffffe4, 0x7ffffde, 0x7ffffdf, 0x3ffffe5, 0xfffff1, 0x1ffffed, // 200-207
        0x7fff2, 0x1fffe3, 0x3ffffe6, 0x7ffffe0, 0x7ffffe1, 0x3ffffe7, 0x7ffffe2, 0xfffff2, // 208-215
        0x1fffe4, 0x1fffe5, 0x3ffffe8, 0x3ffffe9, 0xffffffd, 0x7ffffe3, 0x7ffffe4, 0x7ffffe5, // 216-223
        0xfffec, 0xfffff3, 0xfffed, 0x1fffe6, 0x3fffe9, 0x1fffe7, 0x1fffe8, 0x7ffff3, // 224-231
        0x3fffea, 0x3fffeb, 0x1ffffee, 0x1ffffef, 0xfffff4, 0xfffff5, 0x3ffffea, 0x7ffff4, // 232-239
        0x3ffffeb, 0x7ffffe6, 0x3ffffec, 0x3ffffed, 0x7ffffe7, 0x7ffffe8, 0x7ffffe9, 0x7ffffea, // 240-247
        0x7ffffeb, 0xffffffe, 0x7ffffec, 0x7ffffed, 0x7ffffee, 0x7ffffef, 0x7fffff0, 0x3ffffee, // 248-255
        0x3fffffff, // 256 (EOS)
    ];

    /// <summary>RFC 7541 Appendix B: the length in bits of each symbol's code.</summary>
    private static ReadOnlySpan<byte> Lengths =>
    [
        13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, // 0-15
        28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28, // 16-31
        6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, // 32-47
        5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10, // 48-63
        13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, // 64-79
        7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6, // 80-95
        15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, // 96-111
        6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28, // 112-127
        20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, // 128-143
        24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24, // 144-159
        22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, // 160-175
        21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23, // 176-191
        26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, // 192-207
        19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, // 208-223
        20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, // 224-239
        26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, // 240-255
        30, // 256 (EOS)
    ];

    /// <summary>For the next <see cref="PrimaryBits"/> bits: <c>length &lt;&lt; 8 | symbol</c> of the code they start with when it is that short, else 0.</summary>
    private static readonly ushort[] Primary = BuildPrimary();

    /// <summary>The symbols ordered by code (by length, then by symbol: the code is canonical).</summary>
    private static readonly ushort[] SymbolsByCode = SortSymbolsByCode();

    /// <summary>The lengths above <see cref="PrimaryBits"/>, shortest first (see <see cref="DecodeLong"/>).</summary>
    private static readonly CodeLength[] LongCodes = BuildLongCodes();

    /// <summary>The most octets <paramref name="encodedLength"/> octets decode to (the shortest code is 5 bits).</summary>
    public static int GetMaxDecodedLength(int encodedLength) => (int)Math.Min((long)encodedLength * 8 / 5, Array.MaxLength);

    /// <summary>
    /// Decodes <paramref name="source"/> into <paramref name="destination"/> (which
    /// <see cref="GetMaxDecodedLength"/> octets always suffice for); returns the octets written.
    /// </summary>
    /// <exception cref="HpackException">The string is not a valid Huffman encoding (RFC 7541 §5.2).</exception>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is too short.</exception>
    public static int Decode(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        // The unconsumed bits, left-aligned: 'count' of them, then zeros or octets not yet counted
        // (a refill ORs each octet in at the same place however often it reads it).
        ulong bits = 0;
        var count = 0;
        var next = 0;
        var written = 0;
        var primary = Primary;

        // While at least 8 octets are left, refill to 56 bits or more, then decode codes while at
        // least MaxCodeLength bits are at hand: every code is then complete.
        while (source.Length - next >= sizeof(ulong))
        {
            bits |= BinaryPrimitives.ReadUInt64BigEndian(source[next..]) >> count;
            var octets = (63 - count) >> 3;
            next += octets;
            count += octets << 3;
            do
            {
                int entry = primary[(int)(bits >> (64 - PrimaryBits))];
                int length;
                if (entry != 0)
                    length = entry >> 8;
                else
                    (entry, length) = DecodeLongOrThrowOnEos((uint)(bits >> 32));
                if ((uint)written >= (uint)destination.Length)
                    throw DestinationTooShort();
                destination[written++] = (byte)entry;
                bits <<= length;
                count -= length;
            }
            while (count >= MaxCodeLength);
        }

        // The last octets, one at a time: a code may now be longer than the bits left.
        while (true)
        {
            for (; count <= 56 && next < source.Length; count += 8)
                bits |= (ulong)source[next++] << (56 - count);
            if (count == 0)
                return written;
            int entry = primary[(int)(bits >> (64 - PrimaryBits))];
            int length;
            if (entry != 0)
            {
                length = entry >> 8;
                if (length > count)
                    break;
            }
            else
            {
                (entry, length) = DecodeLong((uint)(bits >> 32));
                if (length > count)
                    break;
                if (entry == Eos)
                    throw EosInside();
            }
            if ((uint)written >= (uint)destination.Length)
                throw DestinationTooShort();
            destination[written++] = (byte)entry;
            bits <<= length;
            count -= length;
        }

        // Fewer bits left than the next code needs, and no more octets: these are the padding.
        CheckPadding(bits, count);
        return written;
    }

    /// <summary>The octets <paramref name="source"/> takes Huffman-encoded, padding included.</summary>
    public static int GetEncodedLength(ReadOnlySpan<byte> source)
    {
        var lengths = Lengths;
        long bits = 0;
        foreach (var octet in source)
            bits += lengths[octet];
        return checked((int)((bits + 7) >> 3));
    }

    /// <summary>Encodes <paramref name="source"/>, padded with the most significant bits of EOS; returns the octets written.</summary>
    /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than <see cref="GetEncodedLength"/>.</exception>
    public static int Encode(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        if (destination.Length < GetEncodedLength(source))
            throw new ArgumentException("The destination is too short for the encoded string.", nameof(destination));
        var codes = Codes;
        var lengths = Lengths;
        ulong pending = 0; // the low 'count' bits are still to write
        var count = 0;
        var written = 0;
        foreach (var octet in source)
        {
            pending = (pending << lengths[octet]) | codes[octet];
            count += lengths[octet];
            for (; count >= 8; count -= 8)
                destination[written++] = (byte)(pending >> (count - 8));
        }
        if (count > 0)
            destination[written++] = (byte)((pending << (8 - count)) | (0xFFu >> count));
        return written;
    }

    private static (int Symbol, int Length) DecodeLongOrThrowOnEos(uint next32)
    {
        var code = DecodeLong(next32);
        return code.Symbol == Eos ? throw EosInside() : code;
    }

    private static HpackException EosInside() => new("HPACK: EOS symbol inside a Huffman string");

    private static ArgumentException DestinationTooShort() => new("The destination is too short for the decoded string.", "destination");

    private static void CheckPadding(ulong bits, int count)
    {
        var ones = ~0UL << (64 - count);
        if (count > 7)
        {
            throw new HpackException((bits & ones) == ones
                ? "HPACK: Huffman padding longer than 7 bits"
                : "HPACK: Huffman string ends inside a code");
        }
        if ((bits & ones) != ones)
            throw new HpackException("HPACK: Huffman padding is not the most significant bits of EOS (all ones)");
    }

    /// <summary>
    /// A code longer than <see cref="PrimaryBits"/>, from the next 32 bits: in a canonical code the
    /// codes of one length are consecutive integers and, left-aligned, all lie below those of any
    /// longer length, so the length is the first whose upper bound the bits are below.
    /// </summary>
    private static (int Symbol, int Length) DecodeLong(uint next32)
    {
        foreach (var code in LongCodes)
        {
            if (next32 < code.Limit)
                return (SymbolsByCode[code.FirstSymbol + (int)((next32 >> (32 - code.Length)) - code.FirstCode)], code.Length);
        }
        throw new UnreachableException("EOS, the last code, ends the 32-bit range.");
    }

    private static ushort[] BuildPrimary()
    {
        var table = new ushort[1 << PrimaryBits];
        for (var symbol = 0; symbol < Eos; symbol++)
        {
            int length = Lengths[symbol];
            if (length <= PrimaryBits)
                table.AsSpan((int)(Codes[symbol] << (PrimaryBits - length)), 1 << (PrimaryBits - length)).Fill((ushort)(length << 8 | symbol));
        }
        return table;
    }

    private static ushort[] SortSymbolsByCode()
    {
        var symbols = new ushort[Eos + 1];
        for (var i = 0; i < symbols.Length; i++)
            symbols[i] = (ushort)i;
        Array.Sort(symbols, (a, b) => Lengths[a] != Lengths[b] ? Lengths[a].CompareTo(Lengths[b]) : Codes[a].CompareTo(Codes[b]));
        return symbols;
    }

    private static CodeLength[] BuildLongCodes()
    {
        var groups = new List<CodeLength>();
        for (var i = 0; i < SymbolsByCode.Length;)
        {
            var first = i;
            int length = Lengths[SymbolsByCode[i]];
            while (i < SymbolsByCode.Length && Lengths[SymbolsByCode[i]] == length)
                i++;
            if (length <= PrimaryBits)
                continue;
            var firstCode = Codes[SymbolsByCode[first]];
            groups.Add(new CodeLength(length, firstCode, first, (firstCode + (ulong)(i - first)) << (32 - length)));
        }
        return [.. groups];
    }

    /// <param name="Length">The code length.</param>
    /// <param name="FirstCode">The smallest code of that length.</param>
    /// <param name="FirstSymbol">Where its symbol is in <see cref="SymbolsByCode"/>.</param>
    /// <param name="Limit">One past the largest code of that length, left-aligned in 32 bits.</param>
    private readonly record struct CodeLength(int Length, uint FirstCode, int FirstSymbol, ulong Limit);
}
