
namespace Esp.Grpc.Http2.Hpack;

/// <summary>Receives the fields of a header block as <see cref="HpackDecoder"/> decodes them.</summary>
internal interface IHpackHeaderHandler
{
    /// <summary>
    /// One field, in block order. The spans are valid only during the call (they point into the
    /// block, the decoder's scratch buffer or the static or dynamic table): copy what must outlast it.
    /// Names and values are octets as received; checking them against HTTP/2's rules is the caller's job.
    /// </summary>
    void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value);
}

/// <summary>
/// Decodes the header blocks of one HTTP/2 connection (RFC 7541), keeping the dynamic table the
/// peer's encoder builds. Not thread-safe: blocks must be decoded one at a time, in the order they
/// were sent. After an <see cref="HpackException"/> the table is out of step with the peer's and the
/// connection must end (COMPRESSION_ERROR).
/// </summary>
internal sealed class HpackDecoder
{
    // A peer's one huge Huffman string should not pin a huge buffer for the connection's life.
    private const int MaxRetainedScratch = 16 * 1024;

    private readonly HpackDynamicTable _table;
    private readonly int _maxHeaderListSize;
    private byte[] _scratch = []; // Huffman-decoded strings, and names copied out of the table

    /// <param name="maxDynamicTableSize">
    /// Our SETTINGS_HEADER_TABLE_SIZE: the largest table the peer may use, and also the table's initial
    /// size. Below HTTP/2's default of 4096 this assumes the peer encodes nothing before it has our
    /// SETTINGS (until then it may fill a 4096-octet table).
    /// </param>
    /// <param name="maxHeaderListSize">The largest header list (RFC 7541 §4.1 sizes: name + value + 32 per field) passed to the handler.</param>
    public HpackDecoder(int maxDynamicTableSize = 4096, int maxHeaderListSize = 65536)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxHeaderListSize);
        _table = new HpackDynamicTable(maxDynamicTableSize);
        _maxHeaderListSize = maxHeaderListSize;
    }

    /// <summary>The maximum our SETTINGS_HEADER_TABLE_SIZE allows; a dynamic table size update above it is an error.</summary>
    public int MaxDynamicTableSize => _table.Capacity;

    /// <summary>The dynamic table as the blocks decoded so far left it (for tests and diagnostics).</summary>
    internal HpackDynamicTable DynamicTable => _table;

    /// <summary>
    /// Decodes one complete header block (HEADERS and CONTINUATION payloads concatenated), calling
    /// <paramref name="handler"/> for each field in order. Returns false when the header list exceeded
    /// the maximum size: the handler then saw only the fields before the one that crossed it, but the
    /// whole block was still decoded, so the dynamic table stays in step with the peer's. An exception
    /// from the handler leaves the block half decoded, and the table as out of step as a malformed block.
    /// </summary>
    /// <exception cref="HpackException">The block is malformed.</exception>
    public bool Decode(ReadOnlySpan<byte> block, IHpackHeaderHandler handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        var position = 0;
        long listSize = 0;
        var sawField = false;
        while (position < block.Length)
        {
            var first = block[position];
            ReadOnlySpan<byte> name, value;
            var index = false;
            if (first >= 0x80)
            {
                // 1xxxxxxx: indexed field (§6.1).
                GetField(HpackInteger.Read(block, ref position, 7), out name, out value);
            }
            else if (first >= 0x40)
            {
                // 01xxxxxx: literal with incremental indexing (§6.2.1).
                ReadLiteral(block, ref position, 6, copyTableName: true, out name, out value);
                index = true;
            }
            else if (first >= 0x20)
            {
                // 001xxxxx: dynamic table size update (§6.3), only before the first field (§4.2).
                if (sawField)
                    throw new HpackException("HPACK: dynamic table size update after a header field");
                var size = HpackInteger.Read(block, ref position, 5);
                if (size > MaxDynamicTableSize)
                    throw new HpackException($"HPACK: dynamic table size update to {size} exceeds the maximum {MaxDynamicTableSize}");
                _table.SetMaxSize(size);
                continue;
            }
            else
            {
                // 0000xxxx: literal without indexing (§6.2.2); 0001xxxx: never indexed (§6.2.3).
                ReadLiteral(block, ref position, 4, copyTableName: false, out name, out value);
            }

            sawField = true;
            listSize += name.Length + value.Length + HpackDynamicTable.EntryOverhead;
            if (listSize <= _maxHeaderListSize)
                handler.OnHeader(name, value);
            if (index)
                _table.Add(name, value);
        }
        if (_scratch.Length > MaxRetainedScratch)
            _scratch = [];
        return listSize <= _maxHeaderListSize;
    }

    private void GetField(int index, out ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value)
    {
        if (index == 0)
            throw new HpackException("HPACK: index 0 is not a field");
        if (index <= HpackStaticTable.Count)
        {
            name = HpackStaticTable.Name(index);
            value = HpackStaticTable.Value(index);
            return;
        }
        var dynamicIndex = index - HpackStaticTable.Count - 1;
        if (dynamicIndex >= _table.Count)
            throw new HpackException($"HPACK: index {index} is beyond the dynamic table ({_table.Count} entries)");
        var insertion = _table.InsertionAt(dynamicIndex);
        name = _table.Name(insertion);
        value = _table.Value(insertion);
    }

    /// <param name="copyTableName">
    /// Whether a name from the dynamic table must be copied out: adding the field to the table may
    /// evict the entry it comes from and move the table's octets (RFC 7541 §4.4).
    /// </param>
    private void ReadLiteral(ReadOnlySpan<byte> block, scoped ref int position, int prefixBits, bool copyTableName, out ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value)
    {
        var scratchUsed = 0;
        var nameIndex = HpackInteger.Read(block, ref position, prefixBits);
        if (nameIndex == 0)
        {
            name = ReadString(block, ref position, ref scratchUsed);
        }
        else
        {
            GetField(nameIndex, out name, out _);
            if (copyTableName && nameIndex > HpackStaticTable.Count)
            {
                var copy = Scratch(ref scratchUsed, name.Length);
                name.CopyTo(copy);
                name = copy;
            }
        }
        value = ReadString(block, ref position, ref scratchUsed);
    }

    private ReadOnlySpan<byte> ReadString(ReadOnlySpan<byte> block, scoped ref int position, scoped ref int scratchUsed)
    {
        if (position >= block.Length)
            throw new HpackException("HPACK: the block ends before a string");
        var huffman = block[position] >= 0x80;
        var length = HpackInteger.Read(block, ref position, 7);
        if (length > block.Length - position)
            throw new HpackException($"HPACK: string length {length} is beyond the block ({block.Length - position} octets left)");
        var raw = block.Slice(position, length);
        position += length;
        if (!huffman)
            return raw;
        var remember = length is >= RememberedMinLength and <= RememberedMaxLength;
        if (remember)
        {
            for (var i = 0; i < _remembered.Length; i++)
            {
                if (_remembered[i] is { } entry && entry.Encoded.Length == length && ConstantTime.Equals(entry.Encoded, raw))
                {
                    _rememberedUsed[i] = true;
                    return entry.Decoded;
                }
            }
        }
        var decoded = Scratch(ref scratchUsed, Huffman.GetMaxDecodedLength(length));
        var written = Huffman.Decode(raw, decoded);
        scratchUsed -= decoded.Length - written;
        if (remember)
        {
            // New arrays: a span handed out over a replaced entry stays valid.
            _remembered[ClockReplacement.Next(_rememberedUsed, ref _rememberedHand)] = new RememberedString(raw.ToArray(), decoded[..written].ToArray());
        }
        return decoded[..written];
    }

    // The long Huffman-coded strings seen last on this connection, with their decoding. A client sends
    // its bearer token on every call as a never-indexed literal (nghttp2, and so h2load and
    // grpc-js, always do): the dynamic table cannot hold it, but this can, and a repeat then costs a
    // comparison instead of decoding (~2.5 us for a 750-octet JWT). The comparison takes the same
    // time however many octets match, so a peer sharing the connection cannot probe a remembered value.
    private const int RememberedMinLength = 32; // a gRPC :path too: nghttp2 never indexes :path
    private const int RememberedMaxLength = 4096;
    private readonly RememberedString?[] _remembered = new RememberedString?[4];
    private readonly bool[] _rememberedUsed = new bool[4];
    private int _rememberedHand;

    private sealed record RememberedString(byte[] Encoded, byte[] Decoded);


    /// <summary>
    /// The next <paramref name="length"/> octets of the scratch buffer. Growing it leaves the strings
    /// already in the old one where they are: their spans keep that array alive until the field is done.
    /// </summary>
    private Span<byte> Scratch(scoped ref int used, int length)
    {
        if (_scratch.Length - used < length)
            _scratch = new byte[Math.Min(Math.Max((long)used + length, 2L * _scratch.Length), Array.MaxLength)];
        var span = _scratch.AsSpan(used, length);
        used += length;
        return span;
    }
}
