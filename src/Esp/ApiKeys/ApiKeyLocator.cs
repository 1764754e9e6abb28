using Esp.Config;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace Esp.ApiKeys;

/// <summary>Finds a call's API key where ESP looks: the method's query parameters, then its headers.</summary>
internal static class ApiKeyLocator
{
    public static string? Find(HttpRequest request, ApiKeyLocations locations)
    {
        foreach (var name in locations.QueryParameters)
        {
            if (First(request.Query[name]) is { } key)
                return key;
        }
        foreach (var name in locations.Headers)
        {
            // A header sent twice may arrive as one comma-joined field (HTTP and gRPC metadata allow both).
            if (First(request.Headers[name]) is { } value)
            {
                var comma = value.IndexOf(',');
                var key = comma < 0 ? value : value[..comma].Trim();
                if (key.Length > 0)
                    return key;
            }
        }
        return null;
    }

    /// <summary>A parameter or header given more than once counts by its first value (as in ESP), never the values joined.</summary>
    private static string? First(StringValues values) => values.Count > 0 && !string.IsNullOrEmpty(values[0]) ? values[0] : null;
}
