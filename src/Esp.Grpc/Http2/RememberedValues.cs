using System.Text;

namespace Esp.Grpc.Http2;

/// <summary>
/// The connection's last header values of 16 octets or more as strings: a client repeats its
/// bearer token, its method's path and its user-agent on every call, and the same string then
/// serves each (no 1.5 KB string per call; and a proxy's HPACK encoder, which remembers the
/// strings it last indexed by instance, finds them again without reading their octets). Compared
/// in constant time, as the HPACK decoder's remembered strings are. Shorter values are the
/// known ones (<see cref="KnownHeaders"/>) or cheap to copy. The <c>:authority</c> (not secret)
/// is kept apart. Used by a connection's read loop only (the server's requests, the client's responses).
/// </summary>
internal sealed class RememberedValues
{
    private const int MinLength = 16;
    private const int MaxLength = 8192;

    private readonly (byte[] Octets, string Text)?[] _entries = new (byte[], string)?[8];
    private readonly bool[] _used = new bool[8];
    private int _hand;

    public string Text(ReadOnlySpan<byte> value)
    {
        if (value.Length is < MinLength or > MaxLength)
            return KnownHeaders.Value(value);
        for (var i = 0; i < _entries.Length; i++)
        {
            if (_entries[i] is { } known && ConstantTime.Equals(known.Octets, value))
            {
                _used[i] = true;
                return known.Text;
            }
        }
        var text = Encoding.Latin1.GetString(value);
        _entries[ClockReplacement.Next(_used, ref _hand)] = (value.ToArray(), text);
        return text;
    }

    private byte[]? _authorityOctets;
    private string? _authority;

    /// <summary>The connection's <c>:authority</c>: clients send the same one on every request.</summary>
    public string Authority(ReadOnlySpan<byte> value)
    {
        if (_authority is not null && value.SequenceEqual(_authorityOctets))
            return _authority;
        _authorityOctets = value.ToArray();
        return _authority = Encoding.Latin1.GetString(value);
    }
}
