using System.Text;

namespace Esp.Grpc.Http2.Hpack;

/// <summary>The 61 predefined header fields of RFC 7541 Appendix A, indexed from 1.</summary>
internal static class HpackStaticTable
{
    public const int Count = 61;

    private static readonly (string Name, string Value)[] Fields =
    [
        (":authority", ""),
        (":method", "GET"),
        (":method", "POST"),
        (":path", "/"),
        (":path", "/index.html"),
        (":scheme", "http"),
        (":scheme", "https"),
        (":status", "200"),
        (":status", "204"),
        (":status", "206"),
        (":status", "304"),
        (":status", "400"),
        (":status", "404"),
        (":status", "500"),
        ("accept-charset", ""),
        ("accept-encoding", "gzip, deflate"),
        ("accept-language", ""),
        ("accept-ranges", ""),
        ("accept", ""),
        ("access-control-allow-origin", ""),
        ("age", ""),
        ("allow", ""),
        ("authorization", ""),
        ("cache-control", ""),
        ("content-disposition", ""),
        ("content-encoding", ""),
        ("content-language", ""),
        ("content-length", ""),
        ("content-location", ""),
        ("content-range", ""),
        ("content-type", ""),
        ("cookie", ""),
        ("date", ""),
        ("etag", ""),
        ("expect", ""),
        ("expires", ""),
        ("from", ""),
        ("host", ""),
        ("if-match", ""),
        ("if-modified-since", ""),
        ("if-none-match", ""),
        ("if-range", ""),
        ("if-unmodified-since", ""),
        ("last-modified", ""),
        ("link", ""),
        ("location", ""),
        ("max-forwards", ""),
        ("proxy-authenticate", ""),
        ("proxy-authorization", ""),
        ("range", ""),
        ("referer", ""),
        ("refresh", ""),
        ("retry-after", ""),
        ("server", ""),
        ("set-cookie", ""),
        ("strict-transport-security", ""),
        ("transfer-encoding", ""),
        ("user-agent", ""),
        ("vary", ""),
        ("via", ""),
        ("www-authenticate", ""),
    ];

    // By index (slot 0 unused). Fields with the same name share one array, and are adjacent.
    private static readonly byte[][] Names = new byte[Count + 1][];
    private static readonly byte[][] Values = new byte[Count + 1][];

    // Open addressing, linear probing: the first index of each distinct name (52 of them), 0 when empty.
    private static readonly byte[] NameBuckets = new byte[128];

    static HpackStaticTable()
    {
        Names[0] = Values[0] = [];
        for (var index = 1; index <= Count; index++)
        {
            var (name, value) = Fields[index - 1];
            Values[index] = Encoding.ASCII.GetBytes(value);
            if (index > 1 && Fields[index - 2].Name == name)
            {
                Names[index] = Names[index - 1];
                continue;
            }
            Names[index] = Encoding.ASCII.GetBytes(name);
            var bucket = Bucket(Names[index]);
            while (NameBuckets[bucket] != 0)
                bucket = (bucket + 1) & (NameBuckets.Length - 1);
            NameBuckets[bucket] = (byte)index;
        }
    }

    /// <summary>The name of the field at <paramref name="index"/> (1 to <see cref="Count"/>).</summary>
    public static ReadOnlySpan<byte> Name(int index) => Names[index];

    /// <summary>The value of the field at <paramref name="index"/> (1 to <see cref="Count"/>).</summary>
    public static ReadOnlySpan<byte> Value(int index) => Values[index];

    /// <summary>The first index with this name, or 0.</summary>
    public static int FindName(ReadOnlySpan<byte> name)
    {
        for (var bucket = Bucket(name); ; bucket = (bucket + 1) & (NameBuckets.Length - 1))
        {
            int index = NameBuckets[bucket];
            if (index == 0 || name.SequenceEqual(Names[index]))
                return index;
        }
    }

    /// <summary>The index of the field with this name and value, or 0.</summary>
    public static int Find(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        var index = FindName(name);
        return index == 0 ? 0 : FindValue(index, value);
    }

    /// <summary>
    /// Among the fields named like the one at <paramref name="nameIndex"/> (the first of them, from
    /// <see cref="FindName"/>), the index of the one with this value, or 0.
    /// </summary>
    public static int FindValue(int nameIndex, ReadOnlySpan<byte> value)
    {
        var name = Names[nameIndex];
        for (var index = nameIndex; index <= Count && ReferenceEquals(Names[index], name); index++)
        {
            if (value.SequenceEqual(Values[index]))
                return index;
        }
        return 0;
    }

    // FNV-1a over the name: names are short, and the table is fixed, so nothing fancier is needed.
    private static int Bucket(ReadOnlySpan<byte> name)
    {
        var hash = 2166136261;
        foreach (var octet in name)
            hash = (hash ^ octet) * 16777619;
        return (int)(hash & (uint)(NameBuckets.Length - 1));
    }
}
