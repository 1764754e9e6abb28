using System.Diagnostics;
using System.Numerics;

namespace Esp.Grpc.Http2.Hpack;

/// <summary>
/// The dynamic table of RFC 7541 §2.3.2 and §4: header fields, newest first, whose sizes (name +
/// value + 32 octets each) add up to at most <see cref="MaxSize"/>; adding evicts the oldest.
/// </summary>
/// <remarks>
/// The encoder and the decoder each keep one, and they must evolve identically. Entries are numbered
/// by insertion (0 for the first ever added) so that the encoder's lookup can tell an evicted entry
/// from a live one without being told of evictions. The octets of all entries live in one buffer,
/// oldest first, so adding an entry allocates nothing once the buffer has grown.
/// </remarks>
internal sealed class HpackDynamicTable
{
    /// <summary>What each entry costs besides its name and value (RFC 7541 §4.1).</summary>
    public const int EntryOverhead = 32;

    /// <summary>The largest capacity accepted: far above any sensible SETTINGS_HEADER_TABLE_SIZE.</summary>
    public const int MaxCapacity = 1 << 24;

    private readonly Entry[] _entries; // a ring: entry n is at n & _mask
    private readonly int _mask;
    private byte[] _buffer = []; // the live entries' octets lie in [start of the oldest, _end)
    private int _end;
    private long _inserted;
    private int _count;

    /// <param name="capacity">The largest <see cref="MaxSize"/> the table will be given; also its initial one.</param>
    public HpackDynamicTable(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(capacity);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(capacity, MaxCapacity);
        Capacity = MaxSize = capacity;
        _entries = new Entry[BitOperations.RoundUpToPowerOf2((uint)Math.Max(1, capacity / EntryOverhead))];
        _mask = _entries.Length - 1;
    }

    public int Capacity { get; }

    /// <summary>The current limit on <see cref="Size"/> (RFC 7541 §4.2).</summary>
    public int MaxSize { get; private set; }

    /// <summary>The sum of the entries' sizes.</summary>
    public int Size { get; private set; }

    public int Count => _count;

    /// <summary>How many entries were ever added: the number the next one gets.</summary>
    public long Inserted => _inserted;

    /// <summary>The number of the oldest entry still in the table (<see cref="Inserted"/> when it is empty).</summary>
    public long Oldest => _inserted - _count;

    /// <summary>How many entries the table can ever hold at once; <see cref="SlotOf"/> maps entry numbers below it.</summary>
    public int SlotCount => _entries.Length;

    public int SlotOf(long insertion) => (int)(insertion & _mask);

    /// <summary>The number of the entry at 0-based <paramref name="index"/>, 0 being the newest.</summary>
    public long InsertionAt(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, _count);
        return _inserted - 1 - index;
    }

    /// <summary>The name of the live entry numbered <paramref name="insertion"/>; valid until the table next changes.</summary>
    public ReadOnlySpan<byte> Name(long insertion)
    {
        ref readonly var entry = ref Live(insertion);
        return _buffer.AsSpan(entry.Offset, entry.NameLength);
    }

    /// <summary>The value of the live entry numbered <paramref name="insertion"/>; valid until the table next changes.</summary>
    public ReadOnlySpan<byte> Value(long insertion)
    {
        ref readonly var entry = ref Live(insertion);
        return _buffer.AsSpan(entry.Offset + entry.NameLength, entry.ValueLength);
    }

    /// <summary>Sets the limit on <see cref="Size"/>, evicting the oldest entries until they fit.</summary>
    public void SetMaxSize(int maxSize)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxSize);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxSize, Capacity);
        MaxSize = maxSize;
        while (Size > maxSize)
            EvictOldest();
    }

    /// <summary>
    /// Adds a field as the newest entry, evicting the oldest ones to make room. A field larger than
    /// <see cref="MaxSize"/> empties the table and is not added (RFC 7541 §4.4): returns false.
    /// </summary>
    /// <remarks>The spans must not point into this table (copy a name taken from it first: adding may evict or move it).</remarks>
    public bool Add(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        Debug.Assert(!name.Overlaps(_buffer) && !value.Overlaps(_buffer), "The field must not alias the table's own octets.");
        var size = (long)name.Length + value.Length + EntryOverhead;
        if (size > MaxSize)
        {
            while (_count > 0)
                EvictOldest();
            return false;
        }
        while (Size + size > MaxSize)
            EvictOldest();

        var length = name.Length + value.Length;
        if (_count == 0)
            _end = 0;
        if (_end + length > _buffer.Length)
            MakeRoom(length);
        name.CopyTo(_buffer.AsSpan(_end));
        value.CopyTo(_buffer.AsSpan(_end + name.Length));
        _entries[SlotOf(_inserted)] = new Entry(_end, name.Length, value.Length);
        _end += length;
        _inserted++;
        _count++;
        Size += (int)size;
        return true;
    }

    /// <summary>
    /// Moves the live octets to the start of the buffer, first growing it when they and the new
    /// entry would fill more than half of it: each octet then moves at most once per half a buffer
    /// of octets added. Live octets and the new entry never exceed the capacity, so the buffer never
    /// exceeds twice the capacity.
    /// </summary>
    private void MakeRoom(int length)
    {
        var start = _count == 0 ? _end : _entries[SlotOf(Oldest)].Offset;
        var live = _end - start;
        var buffer = _buffer;
        if (live + length > buffer.Length / 2)
            buffer = new byte[Math.Min(Math.Max(2 * (live + length), 256), 2 * Capacity)];
        _buffer.AsSpan(start, live).CopyTo(buffer);
        _buffer = buffer;
        for (var n = Oldest; n < _inserted; n++)
            _entries[SlotOf(n)].Offset -= start;
        _end = live;
    }

    private void EvictOldest()
    {
        ref readonly var oldest = ref _entries[SlotOf(Oldest)];
        Size -= oldest.NameLength + oldest.ValueLength + EntryOverhead;
        _count--;
    }

    private ref readonly Entry Live(long insertion)
    {
        if (insertion < Oldest || insertion >= _inserted)
            throw new ArgumentOutOfRangeException(nameof(insertion), insertion, $"Entries {Oldest} to {_inserted - 1} are live.");
        return ref _entries[SlotOf(insertion)];
    }

    private struct Entry(int offset, int nameLength, int valueLength)
    {
        public int Offset = offset;
        public readonly int NameLength = nameLength;
        public readonly int ValueLength = valueLength;
    }
}
