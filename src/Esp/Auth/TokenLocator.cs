using Esp.Config;
using Microsoft.AspNetCore.Http;

namespace Esp.Auth;

/// <summary>A token found in a call, with the providers that read the place it was found in.</summary>
internal sealed record FoundToken(string Token, IReadOnlyList<AuthProvider> Providers);

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

    public static List<FoundToken> Find(HttpRequest request, IEnumerable<AuthProvider> providers)
    {
        var found = new List<FoundToken>();
        foreach (var provider in providers)
        {
            var locations = provider.JwtLocations.Count > 0 ? provider.JwtLocations : DefaultLocations;
            foreach (var location in locations)
            {
                foreach (var token in Read(request, location))
                    Add(found, token, provider);
            }
        }
        return found;
    }

    private static void Add(List<FoundToken> found, string token, AuthProvider provider)
    {
        for (var i = 0; i < found.Count; i++)
        {
            if (string.Equals(found[i].Token, token, StringComparison.Ordinal))
            {
                if (!found[i].Providers.Contains(provider))
                    found[i] = found[i] with { Providers = [.. found[i].Providers, provider] };
                return;
            }
        }
        found.Add(new FoundToken(token, [provider]));
    }

    private static IEnumerable<string> Read(HttpRequest request, JwtLocation location)
    {
        switch (location.Kind)
        {
            case JwtLocationKind.Header:
                foreach (var value in request.Headers[location.Name])
                {
                    if (value is not null && TryStripPrefix(value, location.ValuePrefix, out var token))
                        yield return token;
                }
                break;
            case JwtLocationKind.Query:
                foreach (var value in request.Query[location.Name])
                {
                    if (value is not null)
                        yield return value;
                }
                break;
            case JwtLocationKind.Cookie:
                if (request.Cookies.TryGetValue(location.Name, out var cookie) && cookie is not null)
                    yield return cookie;
                break;
        }
    }

    /// <summary>A value without the prefix is not a token of this location (<c>Authorization: Basic ...</c> is no JWT).</summary>
    private static bool TryStripPrefix(string value, string prefix, out string token)
    {
        token = "";
        if (prefix.Length == 0)
        {
            token = value.Trim();
            return true;
        }
        // "Bearer" alone (the token left out, the space trimmed by the HTTP layer) is a credential
        // that is present but malformed, not a missing one.
        var bare = prefix.TrimEnd();
        if (value.Trim().Equals(bare, StringComparison.OrdinalIgnoreCase))
            return true;
        if (!value.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
            return false;
        token = value[prefix.Length..].Trim();
        return true;
    }
}
