namespace Esp.ApiKeys;

/// <summary>
/// One API key as the store keeps it: never the key itself, only its SHA-256 hash, with the consumer it
/// identifies and the limits put on it.
/// </summary>
internal sealed record ApiKeyRecord
{
    /// <summary>Who calls with this key; the backend learns it from <c>X-Endpoint-API-Consumer-Name</c>.</summary>
    public required string Consumer { get; init; }

    /// <summary>SHA-256 of the key's UTF-8 bytes (32 bytes).</summary>
    public required byte[] Sha256 { get; init; }

    public required DateTimeOffset Created { get; init; }

    /// <summary>From this instant on the key is refused; null: it does not expire.</summary>
    public DateTimeOffset? Expires { get; init; }

    /// <summary>Selector patterns of the methods the key may call; empty: every method.</summary>
    public IReadOnlyList<string> Selectors { get; init; } = [];

    /// <summary>Revoked: kept in the store (so <c>list</c> shows it) but refused.</summary>
    public bool Disabled { get; init; }

    /// <summary>
    /// A stable number for the consumer (the first 63 bits of the SHA-256 of its name), for backends written
    /// for ESPv2's <c>X-Endpoint-API-Consumer-Number</c>.
    /// </summary>
    public string ConsumerNumber => field ??= (System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(
        System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(Consumer))) >> 1).ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The first 12 hex digits of the hash: names the key in listings and logs without revealing it.</summary>
    public string Id => Convert.ToHexStringLower(Sha256, 0, 6);

    public bool IsExpired(DateTimeOffset now) => Expires is { } expires && now >= expires;

    public bool Allows(string methodSelector)
    {
        if (Selectors.Count == 0)
            return true;
        foreach (var pattern in Selectors)
        {
            if (Config.Selector.PatternMatches(pattern, methodSelector))
                return true;
        }
        return false;
    }

    /// <summary>What <c>list</c> shows as the key's state.</summary>
    public string StateAt(DateTimeOffset now) => Disabled ? "revoked" : IsExpired(now) ? "expired" : "active";
}
