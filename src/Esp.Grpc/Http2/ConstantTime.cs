using System.Runtime.Intrinsics;

namespace Esp.Grpc.Http2;

/// <summary>Comparisons whose time does not depend on the content (for values a peer may probe, such as remembered credentials).</summary>
internal static class ConstantTime
{
    /// <summary>
    /// Whether two spans are equal, in a time that depends on their length only. (The framework's
    /// CryptographicOperations.FixedTimeEquals goes a byte at a time: about six times slower here.)
    /// </summary>
    public static bool Equals(ReadOnlySpan<byte> left, ReadOnlySpan<byte> right)
    {
        if (left.Length != right.Length)
            return false;
        var differences = Vector128<byte>.Zero;
        var i = 0;
        for (; i + Vector128<byte>.Count <= left.Length; i += Vector128<byte>.Count)
            differences |= Vector128.Create(left.Slice(i, Vector128<byte>.Count)) ^ Vector128.Create(right.Slice(i, Vector128<byte>.Count));
        var rest = 0;
        for (; i < left.Length; i++)
            rest |= left[i] ^ right[i];
        return (differences == Vector128<byte>.Zero) & (rest == 0);
    }
}
