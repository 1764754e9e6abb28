using Esp.Auth.Jwt;
using Esp.Config;

namespace Esp.Auth;

/// <summary>A token whose signature verified, with the provider whose key verified it.</summary>
internal sealed record VerifiedToken(JwtToken Token, AuthProvider Provider, DateTimeOffset ValidUntil);

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

    public int Count
    {
        get
        {
            lock (_lock)
                return _entries.Count;
        }
    }

    public bool TryGet(string token, DateTimeOffset now, out VerifiedToken verified) => TryGet(token.AsSpan(), now, out verified);

    /// <summary>Looked up by the characters, so a call's token need not be copied out of its header first.</summary>
    public bool TryGet(ReadOnlySpan<char> token, DateTimeOffset now, out VerifiedToken verified)
    {
        verified = null!;
        if (capacity == 0)
            return false;
        lock (_lock)
        {
            var byText = _entries.GetAlternateLookup<ReadOnlySpan<char>>();
            if (!byText.TryGetValue(token, out var node))
                return false;
            if (node.Value.ValidUntil <= now)
            {
                byText.Remove(token);
                _recency.Remove(node);
                return false;
            }
            _recency.Remove(node);
            _recency.AddFirst(node);
            verified = node.Value;
            return true;
        }
    }

    public void Add(JwtToken token, AuthProvider provider, DateTimeOffset now)
    {
        if (capacity == 0)
            return;
        var validUntil = now + MaxEntryLifetime;
        // Compared in seconds: an exp beyond year 9999 is valid JSON but not a DateTimeOffset.
        if (token.ExpiresAt is { } exp && exp < validUntil.ToUnixTimeSeconds())
            validUntil = DateTimeOffset.FromUnixTimeSeconds(exp);
        lock (_lock)
        {
            if (_entries.Remove(token.Raw, out var existing))
                _recency.Remove(existing);
            var node = _recency.AddFirst(new VerifiedToken(token, provider, validUntil));
            _entries[token.Raw] = node;
            while (_entries.Count > capacity)
            {
                var oldest = _recency.Last!;
                _recency.RemoveLast();
                _entries.Remove(oldest.Value.Token.Raw);
            }
        }
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
