using System.Globalization;

namespace Esp.Config;

/// <summary>
/// A gRPC backend address, <c>grpc://host:port</c> (cleartext HTTP/2) or <c>grpcs://host:port</c> (TLS), as
/// <c>--backend</c> and <c>backend.rules[].address</c> give it. The port is required and there is no path.
/// </summary>
internal sealed record BackendAddress(string Address, Uri BaseUri)
{
    /// <summary>Parses an address; on failure, the reason, to follow "address 'X' ".</summary>
    public static BackendAddress? TryParse(string address, out string error)
    {
        error = "";
        var separator = address.IndexOf("://", StringComparison.Ordinal);
        if (separator <= 0)
        {
            error = "is not a URL: write grpc://host:port (or grpcs://host:port for TLS)";
            return null;
        }
        var scheme = address[..separator].ToLowerInvariant();
        var authority = address[(separator + 3)..];
        if (scheme is "http" or "https")
        {
            error = $"uses {scheme}://, which is not supported yet: the proxy forwards gRPC only; write grpc://host:port (or grpcs://host:port for TLS)";
            return null;
        }
        if (scheme is not ("grpc" or "grpcs"))
        {
            error = $"has the scheme '{scheme}': write grpc://host:port (or grpcs://host:port for TLS)";
            return null;
        }

        // A single trailing '/' is harmless; anything after it would be a path, and gRPC paths are fixed.
        if (authority.EndsWith('/'))
            authority = authority[..^1];
        if (authority.IndexOfAny(['/', '?', '#']) >= 0)
        {
            error = "has a path, query or fragment: a gRPC backend address is only scheme://host:port";
            return null;
        }
        if (authority.Contains('@', StringComparison.Ordinal))
        {
            error = "has user information: a gRPC backend address is only scheme://host:port";
            return null;
        }

        // [v6]:port or host:port; the port is required.
        var colon = authority.LastIndexOf(':');
        var closingBracket = authority.LastIndexOf(']');
        if (colon < 0 || colon < closingBracket)
        {
            error = "has no port: write scheme://host:port";
            return null;
        }
        var host = authority[..colon];
        var portText = authority[(colon + 1)..];
        if (host.Length == 0 || host is "[]")
        {
            error = "has no host: write scheme://host:port";
            return null;
        }
        if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
        {
            error = $"has the port '{portText}': a port is a number from 1 to 65535";
            return null;
        }

        var httpScheme = scheme == "grpcs" ? "https" : "http";
        if (!Uri.TryCreate($"{httpScheme}://{host}:{port.ToString(CultureInfo.InvariantCulture)}/", UriKind.Absolute, out var baseUri))
        {
            error = $"has the host '{host}', which is not a valid host name or IP address";
            return null;
        }
        return new BackendAddress(address, baseUri);
    }
}
