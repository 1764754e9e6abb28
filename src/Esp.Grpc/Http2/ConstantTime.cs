using System.Runtime.Intrinsics;

namespace Esp.Grpc.Http2;

/// <summary>Comparisons whose time does not depend on the content (for values a peer may probe, such as remembered credentials).</summary>
internal static class ConstantTime
{
    /// <summary>
    /// Whether two spans are equal, in a time that depends on their length only. (The framework's
    /// CryptographicOperations.FixedTimeEquals goes a byte at a time: about six times slower here.)
    /// 32 octets at a time where the CPU has 256-bit vectors: a 750-octet token is compared on every
    /// call twice (its Huffman coding and its text).
    /// </summary>
    public static bool Equals(ReadOnlySpan<byte> left, ReadOnlySpan<byte> right)
    {
        if (left.Length != right.Length)
            return false;
        var i = 0;
        var wide = Vector256<byte>.Zero;
        if (Vector256.IsHardwareAccelerated)
        {
            for (; i + Vector256<byte>.Count <= left.Length; i += Vector256<byte>.Count)
                wide |= Vector256.Create(left.Slice(i, Vector256<byte>.Count)) ^ Vector256.Create(right.Slice(i, Vector256<byte>.Count));
        }
        var differences = wide.GetLower() | wide.GetUpper();
        for (; i + Vector128<byte>.Count <= left.Length; i += Vector128<byte>.Count)
            differences |= Vector128.Create(left.Slice(i, Vector128<byte>.Count)) ^ Vector128.Create(right.Slice(i, Vector128<byte>.Count));
        var rest = 0;
        for (; i < left.Length; i++)
            rest |= left[i] ^ right[i];
        return (differences == Vector128<byte>.Zero) & (rest == 0);
    }
}
