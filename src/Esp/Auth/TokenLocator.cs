using Esp.Config;
using Microsoft.AspNetCore.Http;

namespace Esp.Auth;

/// <summary>
/// A token found in a call, with the providers that read the place it was found in. It points into
/// the header (or query or cookie) value it came from: a call whose token is in the verified-token
/// cache never copies it out.
/// </summary>
internal sealed class FoundToken(string source, int start, int length, IReadOnlyList<AuthProvider> providers)
{
    private string? _token;

    public FoundToken(string token, IReadOnlyList<AuthProvider> providers)
        : this(token, 0, token.Length, providers)
    {
    }

    public ReadOnlySpan<char> Span => source.AsSpan(start, length);

    /// <summary>The value the token was found in (<see cref="Start"/> and <see cref="Length"/> say where).</summary>
    public string Source => source;

    public int Start => start;

    public int Length => length;

    public string Token => _token ??= start == 0 && length == source.Length ? source : source.Substring(start, length);

    public IReadOnlyList<AuthProvider> Providers { get; set; } = providers;
}

/// <summary>
/// Finds every token a call carries for a method's providers: in each provider's
/// <c>jwt_locations</c>, or, for providers without them, ESP's defaults
/// (<c>Authorization: Bearer</c> with the scheme case-insensitive, <c>X-Goog-Iap-Jwt-Assertion</c>,
/// the <c>access_token</c> query parameter). Every token found must verify.
/// </summary>
internal static class TokenLocator
{
    public static readonly IReadOnlyList<JwtLocation> DefaultLocations =
    [
        new(JwtLocationKind.Header, "authorization", "Bearer "),
        new(JwtLocationKind.Header, "x-goog-iap-jwt-assertion"),
        new(JwtLocationKind.Query, "access_token"),
    ];

    /// <summary>The tokens found (an empty list, shared, when there are none).</summary>
    public static IReadOnlyList<FoundToken> Find(HttpRequest request, IReadOnlyList<AuthProvider> providers)
    {
        // Runs on every call: no enumerators (boxed, through these interfaces) or LINQ, and a list only once a token turns up.
        List<FoundToken>? found = null;
        for (var p = 0; p < providers.Count; p++)
        {
            var provider = providers[p];
            var locations = provider.JwtLocations.Count > 0 ? provider.JwtLocations : DefaultLocations;
            // A token's providers: the method's own list when it has just this one (no list per call).
            var readers = providers.Count == 1 ? providers : null;
            for (var l = 0; l < locations.Count; l++)
                Read(request, locations[l], provider, readers, ref found);
        }
        return found ?? (IReadOnlyList<FoundToken>)[];
    }

    private static void Read(HttpRequest request, JwtLocation location, AuthProvider provider, IReadOnlyList<AuthProvider>? readers, ref List<FoundToken>? found)
    {
        switch (location.Kind)
        {
            case JwtLocationKind.Header:
                foreach (var value in request.Headers[location.Name])
                {
                    if (value is not null && TryStripPrefix(value, location.ValuePrefix, out var start, out var length))
                        Add(ref found, value, start, length, provider, readers);
                }
                break;
            case JwtLocationKind.Query:
                // request.Query parses (and allocates) even an empty query string.
                if (!request.QueryString.HasValue)
                    break;
                foreach (var value in request.Query[location.Name])
                {
                    if (value is not null)
                        Add(ref found, value, 0, value.Length, provider, readers);
                }
                break;
            case JwtLocationKind.Cookie:
                if (request.Cookies.TryGetValue(location.Name, out var cookie) && cookie is not null)
                    Add(ref found, cookie, 0, cookie.Length, provider, readers);
                break;
        }
    }

    private static void Add(ref List<FoundToken>? found, string source, int start, int length, AuthProvider provider, IReadOnlyList<AuthProvider>? readers)
    {
        found ??= new List<FoundToken>(1);
        var token = source.AsSpan(start, length);
        foreach (var existing in found)
        {
            if (existing.Span.SequenceEqual(token))
            {
                if (!existing.Providers.Contains(provider))
                    existing.Providers = [.. existing.Providers, provider];
                return;
            }
        }
        found.Add(new FoundToken(source, start, length, readers ?? [provider]));
    }

    /// <summary>
    /// Where the token is in a value, its surrounding white space left out. A value without the
    /// prefix is not a token of this location (<c>Authorization: Basic ...</c> is no JWT).
    /// </summary>
    private static bool TryStripPrefix(string value, string prefix, out int start, out int length)
    {
        start = 0;
        length = 0;
        var text = value.AsSpan();
        if (prefix.Length == 0)
            return Trimmed(text, 0, out start, out length);
        // "Bearer" alone (the token left out, the space trimmed by the HTTP layer) is a credential
        // that is present but malformed, not a missing one.
        if (text.Trim().Equals(prefix.AsSpan().TrimEnd(), StringComparison.OrdinalIgnoreCase))
            return true;
        if (!text.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
            return false;
        return Trimmed(text, prefix.Length, out start, out length);
    }

    private static bool Trimmed(ReadOnlySpan<char> text, int from, out int start, out int length)
    {
        var rest = text[from..];
        var trimmed = rest.TrimStart();
        start = from + (rest.Length - trimmed.Length);
        length = trimmed.TrimEnd().Length;
        return true;
    }
}
