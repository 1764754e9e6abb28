using Esp.Config;
using Microsoft.AspNetCore.Http;

namespace Esp.ApiKeys;

/// <summary>Finds a call's API key where ESP looks: the method's query parameters, then its headers.</summary>
internal static class ApiKeyLocator
{
    public static string? Find(HttpRequest request, ApiKeyLocations locations)
    {
        foreach (var name in locations.QueryParameters)
        {
            var value = request.Query[name];
            if (!string.IsNullOrEmpty(value))
                return value;
        }
        foreach (var name in locations.Headers)
        {
            var value = request.Headers[name];
            if (!string.IsNullOrEmpty(value))
                return value;
        }
        return null;
    }
}
