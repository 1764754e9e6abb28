using System.Collections;
using Esp.Grpc.Protocol;

namespace Esp.Grpc;

/// <summary>
/// Custom metadata of a call: ordered (key, value) entries. Keys are lower case; keys ending in
/// <c>-bin</c> carry bytes (sent base64-encoded), all others printable ASCII text.
/// </summary>
public sealed class Metadata : IReadOnlyList<Metadata.Entry>
{
    public const string BinarySuffix = "-bin";

    private readonly List<Entry> _entries = [];

    public int Count => _entries.Count;

    public Entry this[int index] => _entries[index];

    public Metadata Add(string key, string value)
    {
        _entries.Add(new Entry(key, value));
        return this;
    }

    public Metadata Add(string key, byte[] value)
    {
        _entries.Add(new Entry(key, value));
        return this;
    }

    public Metadata Add(Entry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        _entries.Add(entry);
        return this;
    }

    /// <summary>The last entry with this key, or null.</summary>
    public Entry? Get(string key)
    {
        for (var i = _entries.Count - 1; i >= 0; i--)
        {
            if (string.Equals(_entries[i].Key, key, StringComparison.OrdinalIgnoreCase))
                return _entries[i];
        }
        return null;
    }

    public string? GetValue(string key) => Get(key)?.Value;

    public byte[]? GetValueBytes(string key) => Get(key)?.ValueBytes;

    public IEnumerable<Entry> GetAll(string key) =>
        _entries.Where(e => string.Equals(e.Key, key, StringComparison.OrdinalIgnoreCase));

    public IEnumerator<Entry> GetEnumerator() => _entries.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public static bool IsBinaryKey(string key) => key.EndsWith(BinarySuffix, StringComparison.OrdinalIgnoreCase);

    /// <summary>One metadata entry; a binary entry holds bytes, a text entry a string.</summary>
    public sealed class Entry
    {
        private readonly string? _text;
        private readonly byte[]? _bytes;

        public Entry(string key, string value)
        {
            Key = NormalizeKey(key);
            ArgumentNullException.ThrowIfNull(value);
            if (IsBinary)
                throw new ArgumentException($"Metadata key '{Key}' ends in '-bin' and takes a byte[] value.", nameof(key));
            if (!MetadataValidation.IsValidAsciiValue(value))
                throw new ArgumentException($"Metadata value of '{Key}' must be printable ASCII (0x20-0x7E).", nameof(value));
            _text = value;
        }

        public Entry(string key, byte[] value)
        {
            Key = NormalizeKey(key);
            ArgumentNullException.ThrowIfNull(value);
            if (!IsBinary)
                throw new ArgumentException($"Metadata key '{Key}' takes a string value; binary keys end in '-bin'.", nameof(key));
            _bytes = value;
        }

        public string Key { get; }

        public bool IsBinary => IsBinaryKey(Key);

        /// <summary>The text value; for a binary entry its base64 form (unpadded, as sent).</summary>
        public string Value => _text ?? BinaryHeaderValue.Encode(_bytes!);

        /// <summary>The bytes of a binary entry; for a text entry its ASCII bytes.</summary>
        public byte[] ValueBytes => _bytes ?? System.Text.Encoding.ASCII.GetBytes(_text!);

        public override string ToString() => IsBinary ? $"{Key}: <{_bytes!.Length} bytes>" : $"{Key}: {_text}";

        private static string NormalizeKey(string key)
        {
            ArgumentException.ThrowIfNullOrEmpty(key);
            var lower = key.ToLowerInvariant();
            if (!MetadataValidation.IsValidKey(lower))
                throw new ArgumentException($"Metadata key '{key}' is not valid: use the characters [0-9a-z_.-].", nameof(key));
            return lower;
        }
    }
}
