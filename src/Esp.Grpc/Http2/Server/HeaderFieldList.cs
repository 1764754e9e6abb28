using System.Collections;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace Esp.Grpc.Http2.Server;

/// <summary>
/// The header fields of one request or response, as <see cref="HeaderDictionary"/> behaves (names
/// compared ignoring ASCII case, repeated fields' values in one entry, an empty indexer result for a
/// missing name) but kept as a list in arrival order. A gRPC message has a handful of fields, and the
/// names looked up are mostly the very strings stored (<see cref="KnownHeaders"/>'s), so a linear search
/// that tries the reference first costs a fraction of hashing every name case-insensitively. Past
/// <see cref="IndexFrom"/> fields (a client may send hundreds) lookups go through a hash index instead,
/// so that a long header list costs no more than with a dictionary.
/// </summary>
internal sealed class HeaderFieldList : IHeaderDictionary
{
    private const int IndexFrom = 16;

    private KeyValuePair<string, StringValues>[] _fields;
    private int _count;

    // Built on demand once the list is long; dropped when a removal shifts positions.
    private Dictionary<string, int>? _index;

    public HeaderFieldList(int capacity = 8) => _fields = new KeyValuePair<string, StringValues>[capacity];

    /// <summary>Set once the fields are sent: every change then throws, as ASP.NET's collections do.</summary>
    public bool IsReadOnly { get; set; }

    public int Count => _count;

    public StringValues this[string key]
    {
        get => TryGetValue(key, out var value) ? value : StringValues.Empty;
        set
        {
            ArgumentNullException.ThrowIfNull(key);
            ThrowIfReadOnly();
            if (value.Count == 0)
                Remove(key);
            else if (IndexOf(key) is var at and >= 0)
                _fields[at] = new(_fields[at].Key, value);
            else
                AddNew(key, value);
        }
    }

    StringValues IDictionary<string, StringValues>.this[string key]
    {
        get => TryGetValue(key, out var value) ? value : throw new KeyNotFoundException($"No header '{key}'.");
        set => this[key] = value;
    }

    public long? ContentLength
    {
        get => HeaderUtilities.TryParseNonNegativeInt64(this[HeaderNames.ContentLength].ToString(), out var length) ? length : null;
        set => this[HeaderNames.ContentLength] = value is { } length
            ? (length >= 0 ? length.ToString(CultureInfo.InvariantCulture) : throw new ArgumentOutOfRangeException(nameof(value), "Content-Length cannot be negative."))
            : StringValues.Empty;
    }

    public ICollection<string> Keys => [.. this.Select(pair => pair.Key)];

    public ICollection<StringValues> Values => [.. this.Select(pair => pair.Value)];

    /// <summary>Adds a value to the field of that name, or the field when the list has none yet.</summary>
    public void Append(string key, string value)
    {
        ThrowIfReadOnly();
        if (IndexOf(key) is var at and >= 0)
            _fields[at] = new(_fields[at].Key, StringValues.Concat(_fields[at].Value, value));
        else
            AddNew(key, value);
    }

    public void Add(string key, StringValues value)
    {
        ArgumentNullException.ThrowIfNull(key);
        ThrowIfReadOnly();
        if (IndexOf(key) >= 0)
            throw new ArgumentException($"The header '{key}' is already present.", nameof(key));
        AddNew(key, value);
    }

    public void Add(KeyValuePair<string, StringValues> item) => Add(item.Key, item.Value);

    public bool ContainsKey(string key) => IndexOf(key) >= 0;

    public bool TryGetValue(string key, [MaybeNullWhen(false)] out StringValues value)
    {
        if (IndexOf(key) is var at and >= 0)
        {
            value = _fields[at].Value;
            return true;
        }
        value = default;
        return false;
    }

    public bool Remove(string key)
    {
        ThrowIfReadOnly();
        var at = IndexOf(key);
        if (at < 0)
            return false;
        RemoveAt(at);
        return true;
    }

    public bool Remove(KeyValuePair<string, StringValues> item)
    {
        ThrowIfReadOnly();
        var at = IndexOf(item.Key);
        if (at < 0 || _fields[at].Value != item.Value)
            return false;
        RemoveAt(at);
        return true;
    }

    /// <summary>Removes every field whose name <paramref name="match"/> picks, in one pass.</summary>
    public void RemoveWhere(Func<string, bool> match)
    {
        ThrowIfReadOnly();
        var kept = 0;
        for (var i = 0; i < _count; i++)
        {
            if (!match(_fields[i].Key))
                _fields[kept++] = _fields[i];
        }
        if (kept == _count)
            return;
        Array.Clear(_fields, kept, _count - kept);
        _count = kept;
        _index = null;
    }

    public bool Contains(KeyValuePair<string, StringValues> item) => TryGetValue(item.Key, out var value) && value == item.Value;

    public void Clear()
    {
        ThrowIfReadOnly();
        Array.Clear(_fields, 0, _count);
        _count = 0;
        _index = null;
    }

    public void CopyTo(KeyValuePair<string, StringValues>[] array, int arrayIndex) => _fields.AsSpan(0, _count).CopyTo(array.AsSpan(arrayIndex));

    public Enumerator GetEnumerator() => new(this);

    IEnumerator<KeyValuePair<string, StringValues>> IEnumerable<KeyValuePair<string, StringValues>>.GetEnumerator() => GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private int IndexOf(string key)
    {
        if (_count > IndexFrom)
            return (_index ??= BuildIndex()).TryGetValue(key, out var indexed) ? indexed : -1;
        var fields = _fields;
        for (var i = 0; i < _count; i++)
        {
            if (ReferenceEquals(fields[i].Key, key))
                return i;
        }
        for (var i = 0; i < _count; i++)
        {
            if (string.Equals(fields[i].Key, key, StringComparison.OrdinalIgnoreCase))
                return i;
        }
        return -1;
    }

    private Dictionary<string, int> BuildIndex()
    {
        var index = new Dictionary<string, int>(_count, StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < _count; i++)
            index[_fields[i].Key] = i;
        return index;
    }

    private void AddNew(string key, StringValues value)
    {
        if (_count == _fields.Length)
            Array.Resize(ref _fields, _fields.Length * 2);
        _index?.Add(key, _count);
        _fields[_count++] = new(key, value);
    }

    private void RemoveAt(int at)
    {
        _count--;
        Array.Copy(_fields, at + 1, _fields, at, _count - at);
        _fields[_count] = default;
        _index = null;
    }

    private void ThrowIfReadOnly()
    {
        if (IsReadOnly)
            throw new InvalidOperationException("The headers are read-only: the response has already started.");
    }

    /// <summary>Walks the fields in order; no allocation for a <c>foreach</c> over the list itself.</summary>
    public struct Enumerator(HeaderFieldList list) : IEnumerator<KeyValuePair<string, StringValues>>
    {
        private int _next;

        public KeyValuePair<string, StringValues> Current { get; private set; }

        readonly object IEnumerator.Current => Current;

        public bool MoveNext()
        {
            if (_next >= list._count)
                return false;
            Current = list._fields[_next++];
            return true;
        }

        public void Reset() => _next = 0;

        public readonly void Dispose()
        {
        }
    }
}
