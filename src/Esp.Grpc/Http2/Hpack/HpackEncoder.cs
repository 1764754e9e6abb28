using System.Buffers;
using System.Buffers.Binary;
using System.Numerics;
using System.Text;

namespace Esp.Grpc.Http2.Hpack;

/// <summary>How <see cref="HpackEncoder"/> may represent a field.</summary>
internal enum HpackIndexing
{
    /// <summary>Indexed when the field is in a table, else added to the dynamic table: for values that repeat.</summary>
    Index,

    /// <summary>Never added to the dynamic table: for values that rarely repeat (an exact static-table match is still indexed).</summary>
    WithoutIndexing,

    /// <summary>Always a never-indexed literal (RFC 7541 §7.1.3), which intermediaries must keep as such: for credentials.</summary>
    NeverIndex,
}

/// <summary>
/// Encodes the header blocks of one HTTP/2 connection (RFC 7541), keeping the dynamic table the
/// peer's decoder builds from them. Strings are written raw, not Huffman-coded: on the loopback and
/// local links a proxy talks over, the CPU matters more than the octets. Not thread-safe: one block
/// at a time, sent in the order encoded.
/// </summary>
internal sealed class HpackEncoder
{
    /// <summary>The peer's decoder's table size until it says otherwise (RFC 7540 §6.5.2).</summary>
    private const int InitialPeerTableSize = 4096;

    private const ulong Multiplier = 0x9E3779B97F4A7C15; // 2^64 / golden ratio: spreads bits well

    private static readonly ulong HashSeed = (ulong)Random.Shared.NextInt64();

    private static readonly Encoding StrictLatin1 = Encoding.GetEncoding("iso-8859-1", EncoderFallback.ExceptionFallback, DecoderFallback.ExceptionFallback);

    private readonly HpackDynamicTable _table;

    // Lookups into the dynamic table, by hash of the (name, value) pair and of the name alone:
    // chains of entry numbers, newest first. An evicted entry needs no unlinking: its number is
    // below the table's oldest, and so are those of every entry after it in the chain.
    private readonly int _bucketMask;
    private readonly long[] _pairBuckets;
    private readonly long[] _nameBuckets;
    private readonly Link[] _links; // by slot of the entry number

    // The string overload's last fields added to or found in either table, by instance: the same
    // name and value strings are the same octets, so a repeat whose entry is still in the table is
    // indexed without narrowing, hashing and comparing its octets again (a proxy's user info header,
    // :path, content-type, :method POST: the same strings on every call). Sixteen, replaced by
    // ClockReplacement: a ring smaller than a block's repeated fields, or one that a per-call value
    // sweeps, would miss them.
    private readonly RecentField[] _recent = new RecentField[16];
    private readonly bool[] _recentUsed = new bool[16];
    private int _recentHand;

    // The string overload's last long unindexed literals whose name the static table holds, encoded,
    // by instance: such a literal's octets do not depend on either dynamic table, so a repeat is
    // copied out instead of narrowed and written again (a caller's bearer token, never indexed,
    // is the same string on every call of a connection).
    private const int RememberedLiteralMinLength = 64;
    private const int RememberedLiteralMaxLength = 8192;
    // Replaced by ClockReplacement too: a long per-call value (a signed request id) must not push the token out.
    private readonly RecentLiteral[] _recentLiterals = new RecentLiteral[4];
    private readonly bool[] _recentLiteralUsed = new bool[4];
    private int _recentLiteralHand;
    private readonly ArrayBufferWriter<byte> _literalScratch = new();

    private byte[] _scratch = []; // the Latin-1 octets of the string overload's name and value
    private int _tableSize; // the size we use: min(ours, the peer's), signalled or about to be
    private int _pendingMinimum = -1; // the smallest size since the last one signalled, or -1

    /// <param name="maxDynamicTableSize">
    /// The largest dynamic table we keep, whatever the peer allows. The peer's decoder starts at
    /// HTTP/2's default 4096 octets: a smaller maximum is signalled at the start of the first block.
    /// </param>
    public HpackEncoder(int maxDynamicTableSize = 4096)
    {
        _table = new HpackDynamicTable(maxDynamicTableSize);
        _links = new Link[_table.SlotCount];
        _pairBuckets = new long[2 * _table.SlotCount];
        _nameBuckets = new long[2 * _table.SlotCount];
        _pairBuckets.AsSpan().Fill(-1);
        _nameBuckets.AsSpan().Fill(-1);
        _bucketMask = _pairBuckets.Length - 1;

        _tableSize = Math.Min(maxDynamicTableSize, InitialPeerTableSize);
        _table.SetMaxSize(_tableSize);
        if (_tableSize != InitialPeerTableSize)
            _pendingMinimum = _tableSize; // the peer's decoder must hear of our smaller table
    }

    /// <summary>The largest dynamic table we keep.</summary>
    public int MaxDynamicTableSize => _table.Capacity;

    /// <summary>The dynamic table as the blocks encoded so far built it (for tests and diagnostics).</summary>
    internal HpackDynamicTable DynamicTable => _table;

    /// <summary>
    /// The peer's SETTINGS_HEADER_TABLE_SIZE changed: the table we use becomes min(our max, this).
    /// The next block starts with the dynamic table size updates it takes (RFC 7541 §4.2, §6.3): the
    /// new size, preceded by the smallest one since the last block when the table shrank below it.
    /// A SETTINGS value above <see cref="int.MaxValue"/> can be passed as <see cref="int.MaxValue"/>.
    /// </summary>
    public void SetPeerMaxTableSize(int size)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        var newSize = Math.Min(size, _table.Capacity);
        if (newSize == _tableSize)
            return;
        _tableSize = newSize;
        _pendingMinimum = _pendingMinimum < 0 ? newSize : Math.Min(_pendingMinimum, newSize);
    }

    /// <summary>Starts a header block: writes any pending table size update. Every block must start with it.</summary>
    public void BeginBlock(IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (_pendingMinimum < 0)
            return;
        var span = output.GetSpan(2 * HpackInteger.MaxLength);
        var written = 0;
        if (_pendingMinimum < _tableSize)
        {
            written += HpackInteger.Write(span, _pendingMinimum, 5, 0x20);
            _table.SetMaxSize(_pendingMinimum);
        }
        written += HpackInteger.Write(span[written..], _tableSize, 5, 0x20);
        _table.SetMaxSize(_tableSize);
        output.Advance(written);
        _pendingMinimum = -1;
    }

    /// <summary>
    /// Encodes one field. The name must be lower case (HTTP/2); name and value are written as Latin-1
    /// octets, so a character above U+00FF is an <see cref="ArgumentException"/>.
    /// <list type="bullet">
    /// <item><see cref="HpackIndexing.Index"/>: a (name, value) in the static or dynamic table is an indexed field; any
    /// other a literal with incremental indexing (its name indexed when a table has it), added to the dynamic table,
    /// unless larger than the table: then a literal without indexing.</item>
    /// <item><see cref="HpackIndexing.WithoutIndexing"/>: indexed when the pair is in the static table, else a literal
    /// without indexing.</item>
    /// <item><see cref="HpackIndexing.NeverIndex"/>: always a never-indexed literal.</item>
    /// </list>
    /// Literals take their name's index from the static table, else from the dynamic table, when either has it.
    /// </summary>
    public void Encode(IBufferWriter<byte> output, string name, string value, HpackIndexing indexing)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(value);
        if (indexing == HpackIndexing.Index && FindRecent(name, value) is not NoEntry and var recent)
        {
            WriteIndexed(output, recent <= StaticEntryBase ? (int)(StaticEntryBase - recent) : IndexOf(recent));
            return;
        }
        var rememberLiteral = indexing != HpackIndexing.Index && value.Length is >= RememberedLiteralMinLength and <= RememberedLiteralMaxLength;
        if (rememberLiteral && FindRecentLiteral(name, value, indexing) is { } encoded)
        {
            output.Write(encoded);
            return;
        }
        var length = checked(name.Length + value.Length);
        if (_scratch.Length < length)
            _scratch = new byte[Math.Max(length, 2 * _scratch.Length)];
        var nameOctets = _scratch.AsSpan(0, name.Length);
        var valueOctets = _scratch.AsSpan(name.Length, value.Length);
        if (!TryLatin1(name, nameOctets))
            throw new ArgumentException($"HPACK: the header name '{name}' has a character above U+00FF.", nameof(name));
        if (!TryLatin1(value, valueOctets))
            throw new ArgumentException($"HPACK: the value of header '{name}' has a character above U+00FF.", nameof(value));
        if (rememberLiteral && HpackStaticTable.FindName(nameOctets) != 0)
        {
            _literalScratch.ResetWrittenCount();
            EncodeOctets(_literalScratch, nameOctets, valueOctets, indexing);
            output.Write(_literalScratch.WrittenSpan);
            _recentLiterals[ClockReplacement.Next(_recentLiteralUsed, ref _recentLiteralHand)] = new RecentLiteral(name, value, indexing, _literalScratch.WrittenSpan.ToArray());
            return;
        }
        if (EncodeOctets(output, nameOctets, valueOctets, indexing) is not NoEntry and var entry && indexing == HpackIndexing.Index)
        {
            _recent[ClockReplacement.Next(_recentUsed, ref _recentHand)] = new RecentField(name, value, entry);
        }
    }

    /// <summary>Encodes one field given as Latin-1 octets, by the rules of the string overload.</summary>
    public void Encode(IBufferWriter<byte> output, ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, HpackIndexing indexing)
    {
        ArgumentNullException.ThrowIfNull(output);
        EncodeOctets(output, name, value, indexing);
    }

    /// <returns>
    /// The dynamic table entry the field was indexed as or added as; a static table index it was
    /// indexed as, as <see cref="StaticEntryBase"/> minus the index; else <see cref="NoEntry"/>.
    /// </returns>
    private long EncodeOctets(IBufferWriter<byte> output, ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, HpackIndexing indexing)
    {
        foreach (var octet in name)
        {
            if ((uint)(octet - 'A') <= 'Z' - 'A')
                throw new ArgumentException($"HPACK: the header name '{Encoding.Latin1.GetString(name)}' is not lower case.", nameof(name));
        }
        if (indexing is not (HpackIndexing.Index or HpackIndexing.WithoutIndexing or HpackIndexing.NeverIndex))
            throw new ArgumentOutOfRangeException(nameof(indexing), indexing, null);

        var nameIndex = HpackStaticTable.FindName(name);
        if (nameIndex != 0 && indexing != HpackIndexing.NeverIndex && HpackStaticTable.FindValue(nameIndex, value) is > 0 and var exact)
        {
            WriteIndexed(output, exact);
            return StaticEntryBase - exact;
        }

        var nameHash = nameIndex == 0 || indexing == HpackIndexing.Index ? Hash(name, 0) : 0;
        var pairHash = 0u;
        if (indexing == HpackIndexing.Index)
        {
            pairHash = Hash(value, nameHash);
            if (FindPair(name, value, pairHash) is >= 0 and var entry)
            {
                WriteIndexed(output, IndexOf(entry));
                return entry;
            }
        }
        if (nameIndex == 0 && FindName(name, nameHash) is >= 0 and var named)
            nameIndex = IndexOf(named);

        if (indexing == HpackIndexing.Index && (long)name.Length + value.Length + HpackDynamicTable.EntryOverhead <= _table.MaxSize)
        {
            WriteLiteral(output, 0x40, 6, nameIndex, name, value);
            return Insert(name, value, nameHash, pairHash);
        }
        WriteLiteral(output, indexing == HpackIndexing.NeverIndex ? (byte)0x10 : (byte)0x00, 4, nameIndex, name, value);
        return NoEntry;
    }

    /// <summary>
    /// The entry the string overload last used for these very instances, if the table still holds
    /// it (a static one always does: <c>:method POST</c>, <c>:status 200</c>), else <see cref="NoEntry"/>.
    /// </summary>
    private long FindRecent(string name, string value)
    {
        for (var i = 0; i < _recent.Length; i++)
        {
            ref readonly var recent = ref _recent[i];
            if (ReferenceEquals(recent.Value, value) && ReferenceEquals(recent.Name, name) && (recent.Entry >= _table.Oldest || recent.Entry <= StaticEntryBase))
            {
                _recentUsed[i] = true;
                return recent.Entry;
            }
        }
        return NoEntry;
    }

    private const long NoEntry = -1;

    /// <summary>Static table index i is remembered as this minus i (below every dynamic entry and <see cref="NoEntry"/>).</summary>
    private const long StaticEntryBase = -2;

    private byte[]? FindRecentLiteral(string name, string value, HpackIndexing indexing)
    {
        for (var i = 0; i < _recentLiterals.Length; i++)
        {
            ref readonly var recent = ref _recentLiterals[i];
            if (ReferenceEquals(recent.Value, value) && ReferenceEquals(recent.Name, name) && recent.Indexing == indexing)
            {
                _recentLiteralUsed[i] = true;
                return recent.Encoded;
            }
        }
        return null;
    }

    /// <summary>Narrows and checks in one (vectorised) pass; false when a character is above U+00FF.</summary>
    private static bool TryLatin1(string s, Span<byte> destination)
    {
        try
        {
            StrictLatin1.GetBytes(s, destination);
            return true;
        }
        catch (EncoderFallbackException)
        {
            return false;
        }
    }

    private int IndexOf(long entry) => HpackStaticTable.Count + (int)(_table.Inserted - entry);

    private long FindPair(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, uint hash)
    {
        for (var entry = _pairBuckets[hash & _bucketMask]; entry >= _table.Oldest; entry = _links[_table.SlotOf(entry)].NextPair)
        {
            if (_links[_table.SlotOf(entry)].PairHash == hash && _table.Name(entry).SequenceEqual(name) && _table.Value(entry).SequenceEqual(value))
                return entry;
        }
        return -1;
    }

    private long FindName(ReadOnlySpan<byte> name, uint hash)
    {
        for (var entry = _nameBuckets[hash & _bucketMask]; entry >= _table.Oldest; entry = _links[_table.SlotOf(entry)].NextName)
        {
            if (_links[_table.SlotOf(entry)].NameHash == hash && _table.Name(entry).SequenceEqual(name))
                return entry;
        }
        return -1;
    }

    private long Insert(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, uint nameHash, uint pairHash)
    {
        var entry = _table.Inserted;
        _table.Add(name, value);
        ref var pairBucket = ref _pairBuckets[pairHash & _bucketMask];
        ref var nameBucket = ref _nameBuckets[nameHash & _bucketMask];
        _links[_table.SlotOf(entry)] = new Link(pairHash, nameHash, pairBucket, nameBucket);
        pairBucket = entry;
        nameBucket = entry;
        return entry;
    }

    private static void WriteIndexed(IBufferWriter<byte> output, int index)
    {
        var written = HpackInteger.Write(output.GetSpan(HpackInteger.MaxLength), index, 7, 0x80);
        output.Advance(written);
    }

    private static void WriteLiteral(IBufferWriter<byte> output, byte flags, int prefixBits, int nameIndex, ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        var span = output.GetSpan(checked(3 * HpackInteger.MaxLength + (nameIndex == 0 ? name.Length : 0) + value.Length));
        var written = HpackInteger.Write(span, nameIndex, prefixBits, flags);
        if (nameIndex == 0)
            written += WriteString(span[written..], name);
        written += WriteString(span[written..], value);
        output.Advance(written);
    }

    private static int WriteString(Span<byte> destination, ReadOnlySpan<byte> octets)
    {
        var written = HpackInteger.Write(destination, octets.Length, 7, 0x00); // H = 0: raw octets
        octets.CopyTo(destination[written..]);
        return written + octets.Length;
    }

    /// <summary>
    /// A multiplicative hash, eight octets at a time (in four independent lanes for long values, such
    /// as tokens), seeded per process. Chains are bounded by the table's entry count anyway, so
    /// collisions cost time, never memory.
    /// </summary>
    private static uint Hash(ReadOnlySpan<byte> octets, uint seed)
    {
        var hash = HashSeed ^ seed ^ ((ulong)octets.Length * Multiplier);
        if (octets.Length >= 4 * sizeof(ulong))
        {
            var (a, b, c, d) = (hash, ~hash, hash + Multiplier, hash - Multiplier);
            for (; octets.Length >= 4 * sizeof(ulong); octets = octets[(4 * sizeof(ulong))..])
            {
                a = Mix(a, BinaryPrimitives.ReadUInt64LittleEndian(octets));
                b = Mix(b, BinaryPrimitives.ReadUInt64LittleEndian(octets[8..]));
                c = Mix(c, BinaryPrimitives.ReadUInt64LittleEndian(octets[16..]));
                d = Mix(d, BinaryPrimitives.ReadUInt64LittleEndian(octets[24..]));
            }
            hash = a ^ BitOperations.RotateLeft(b, 16) ^ BitOperations.RotateLeft(c, 32) ^ BitOperations.RotateLeft(d, 48);
        }
        for (; octets.Length >= sizeof(ulong); octets = octets[sizeof(ulong)..])
            hash = Mix(hash, BinaryPrimitives.ReadUInt64LittleEndian(octets));
        ulong tail = 0;
        foreach (var octet in octets)
            tail = (tail << 8) | octet;
        hash = Mix(hash, tail);
        return (uint)(hash ^ (hash >> 32));
    }

    private static ulong Mix(ulong hash, ulong octets) => BitOperations.RotateLeft((hash ^ octets) * Multiplier, 29);

    /// <summary>A field the string overload indexed: its strings, and the entry that holds their octets.</summary>
    private readonly record struct RecentField(string Name, string Value, long Entry);

    /// <summary>An unindexed literal the string overload wrote, as it went on the wire.</summary>
    private readonly record struct RecentLiteral(string Name, string Value, HpackIndexing Indexing, byte[] Encoded);

    /// <summary>An entry's hashes and the next older entry in each of its two chains.</summary>
    private readonly record struct Link(uint PairHash, uint NameHash, long NextPair, long NextName);
}
