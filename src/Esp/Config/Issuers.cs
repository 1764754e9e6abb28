namespace Esp.Config;

/// <summary>Issuer comparison as ESPv1 does it (DESIGN.md §5 "Verification").</summary>
internal static class Issuers
{
    /// <summary>Strips <c>http://</c> or <c>https://</c> and one trailing <c>/</c>: <c>https://a.example/</c> is <c>a.example</c>.</summary>
    public static string Normalize(string issuer)
    {
        ArgumentNullException.ThrowIfNull(issuer);
        var value = issuer.AsSpan();
        if (value.StartsWith("https://", StringComparison.Ordinal))
            value = value["https://".Length..];
        else if (value.StartsWith("http://", StringComparison.Ordinal))
            value = value["http://".Length..];
        if (value.EndsWith("/"))
            value = value[..^1];
        // Nothing stripped (the usual case): no copy.
        return value.Length == issuer.Length ? issuer : value.ToString();
    }
}
