using System.Buffers.Binary;
using System.Collections.Frozen;
using System.Security.Cryptography;

namespace Esp.ApiKeys;

/// <summary>
/// The keys of one version of the store file, immutable: a reload builds a new store and swaps it in,
/// so a call always checks its key against one consistent version.
/// </summary>
/// <remarks>
/// A presented key is hashed and looked up by the first 8 bytes of its hash; the candidates are then
/// compared over all 32 bytes in constant time. The lookup's timing can only tell an attacker about
/// hashes of keys they chose, which says nothing about the stored keys (SHA-256 is preimage resistant).
/// </remarks>
internal sealed class ApiKeyStore
{
    private readonly FrozenDictionary<ulong, ApiKeyRecord[]> _byHashPrefix;

    public ApiKeyStore(IReadOnlyList<ApiKeyRecord> keys)
    {
        Keys = keys;
        _byHashPrefix = keys
            .GroupBy(k => PrefixOf(k.Sha256))
            .ToFrozenDictionary(g => g.Key, g => g.ToArray());
    }

    public static ApiKeyStore Empty { get; } = new([]);

    /// <summary>Every key, in file order, revoked and expired ones included.</summary>
    public IReadOnlyList<ApiKeyRecord> Keys { get; }

    /// <summary>The record of a presented key, whatever its state; null when the store does not know it.</summary>
    public ApiKeyRecord? Find(ReadOnlySpan<char> key)
    {
        Span<byte> hash = stackalloc byte[32];
        if (!ApiKeySecrets.TryHash(key, hash) || !_byHashPrefix.TryGetValue(PrefixOf(hash), out var candidates))
            return null;
        foreach (var candidate in candidates)
        {
            if (CryptographicOperations.FixedTimeEquals(candidate.Sha256, hash))
                return candidate;
        }
        return null;
    }

    /// <summary>Keys neither revoked nor expired.</summary>
    public int CountActive(DateTimeOffset now) => Keys.Count(k => !k.Disabled && !k.IsExpired(now));

    public int CountConsumers() => Keys.Select(k => k.Consumer).Distinct(StringComparer.Ordinal).Count();

    private static ulong PrefixOf(ReadOnlySpan<byte> hash) => BinaryPrimitives.ReadUInt64LittleEndian(hash);
}
