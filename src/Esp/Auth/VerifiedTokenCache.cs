using Esp.Auth.Jwt;
using Esp.Config;

namespace Esp.Auth;

/// <summary>A token whose signature verified, with the provider whose key verified it.</summary>
internal sealed class VerifiedToken(JwtToken token, AuthProvider provider, DateTimeOffset validUntil)
{
    public JwtToken Token { get; } = token;

    public AuthProvider Provider { get; } = provider;

    public DateTimeOffset ValidUntil { get; } = validUntil;

    /// <summary>
    /// The last method whose audiences this token was found to satisfy (set by the authenticator,
    /// read without a lock: a stale value only means the check runs again).
    /// </summary>
    public MethodPolicy? AcceptedFor { get; set; }
}

/// <summary>
/// Verified tokens by their exact text, least recently used evicted first (<c>--jwt_cache_size</c>;
/// 0 turns it off). An entry lives at most until the token expires and at most five minutes, so a
/// revoked key stops working soon. A hit skips parsing and the signature, never the per-method
/// checks (issuer, time, audience).
/// </summary>
internal sealed class VerifiedTokenCache(int capacity)
{
    public static readonly TimeSpan MaxEntryLifetime = TimeSpan.FromMinutes(5);

    private readonly Dictionary<string, LinkedListNode<VerifiedToken>> _entries = new(TokenComparer.Instance);
    private readonly LinkedList<VerifiedToken> _recency = new();
    private readonly Lock _lock = new();

    // The last entry found, and where its text was (see TryGet); a removed node has no List.
    private LinkedListNode<VerifiedToken>? _lastHit;
    private string? _lastHitText;
    private int _lastHitStart;

    public int Count
    {
        get
        {
            lock (_lock)
                return _entries.Count;
        }
    }

    public bool TryGet(string token, DateTimeOffset now, out VerifiedToken verified) => TryGet(token, 0, token.Length, now, out verified);

    /// <summary>
    /// Looks up the token at <paramref name="start"/> in <paramref name="text"/> (a header value), so
    /// it need not be copied out first. The last hit is remembered by that string instance: a client's
    /// connection delivers its token as the same string on every call, and a repeat then skips
    /// hashing and comparing it.
    /// </summary>
    public bool TryGet(string text, int start, int length, DateTimeOffset now, out VerifiedToken verified)
    {
        verified = null!;
        if (capacity == 0)
            return false;
        lock (_lock)
        {
            var node = _lastHit;
            if (node is null || node.List is null || !ReferenceEquals(_lastHitText, text) || _lastHitStart != start || node.Value.Token.Raw.Length != length)
            {
                if (!_entries.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(text.AsSpan(start, length), out node))
                    return false;
            }
            if (node.Value.ValidUntil <= now)
            {
                Remove(node);
                return false;
            }
            (_lastHit, _lastHitText, _lastHitStart) = (node, text, start);
            if (node != _recency.First)
            {
                _recency.Remove(node);
                _recency.AddFirst(node);
            }
            verified = node.Value;
            return true;
        }
    }

    /// <summary>Remembers a verified token; returns its entry (not kept when the cache is off).</summary>
    public VerifiedToken Add(JwtToken token, AuthProvider provider, DateTimeOffset now)
    {
        var validUntil = now + MaxEntryLifetime;
        // Compared in seconds: an exp beyond year 9999 is valid JSON but not a DateTimeOffset.
        if (token.ExpiresAt is { } exp && exp < validUntil.ToUnixTimeSeconds())
            validUntil = DateTimeOffset.FromUnixTimeSeconds(exp);
        var verified = new VerifiedToken(token, provider, validUntil);
        if (capacity == 0)
            return verified;
        lock (_lock)
        {
            if (_entries.TryGetValue(token.Raw, out var existing))
                Remove(existing);
            _entries[token.Raw] = _recency.AddFirst(verified);
            while (_entries.Count > capacity)
                Remove(_recency.Last!);
        }
        return verified;
    }

    private void Remove(LinkedListNode<VerifiedToken> node)
    {
        _entries.Remove(node.Value.Token.Raw);
        _recency.Remove(node);
    }
}

/// <summary>
/// Tokens compared by their exact text, hashed by their length and last 64 characters: the
/// signature, different for every token, so a lookup hashes a tenth of a typical JWT. The hash is
/// the framework's randomized one, and only verified tokens are ever keys, so nobody can aim
/// collisions at the table.
/// </summary>
internal sealed class TokenComparer : IEqualityComparer<string>, IAlternateEqualityComparer<ReadOnlySpan<char>, string>
{
    private const int HashedTail = 64;

    public static TokenComparer Instance { get; } = new();

    public bool Equals(string? x, string? y) => string.Equals(x, y, StringComparison.Ordinal);

    public int GetHashCode(string obj) => GetHashCode(obj.AsSpan());

    public bool Equals(ReadOnlySpan<char> alternate, string other) => alternate.SequenceEqual(other);

    public int GetHashCode(ReadOnlySpan<char> alternate) =>
        HashCode.Combine(alternate.Length, string.GetHashCode(alternate[Math.Max(0, alternate.Length - HashedTail)..]));

    public string Create(ReadOnlySpan<char> alternate) => alternate.ToString();
}
