using Microsoft.Extensions.Primitives;

namespace Esp.Grpc.Protocol;

/// <summary>Moves custom metadata between <see cref="Metadata"/> and HTTP header collections.</summary>
internal static class MetadataHeaders
{
    /// <summary>
    /// Adds one header's values as metadata entries, skipping protocol headers. A joined binary
    /// header is split on ',' before decoding.
    /// </summary>
    /// <returns>False when a <c>-bin</c> value is not base64.</returns>
    public static bool TryAdd(Metadata metadata, string name, IEnumerable<string?> values)
    {
        // HTTP/2 names are lower case already: ToLowerInvariant then returns the same string.
        if (GrpcProtocol.IsReservedHeader(name) || !MetadataValidation.IsValidKey(name.ToLowerInvariant()))
            return true;
        var binary = Metadata.IsBinaryKey(name);
        foreach (var value in values)
        {
            if (value is null)
                continue;
            if (!binary)
            {
                if (MetadataValidation.IsValidAsciiValue(value))
                    metadata.Add(name, value);
                continue;
            }
            foreach (var part in value.Split(','))
            {
                if (!BinaryHeaderValue.TryDecode(part, out var bytes))
                    return false;
                metadata.Add(name, bytes);
            }
        }
        return true;
    }

    public static bool TryAdd(Metadata metadata, string name, StringValues values)
    {
        IEnumerable<string?> list = values;
        return TryAdd(metadata, name, list);
    }

    /// <summary>A request's custom metadata (a server checks its binary values before the handler runs).</summary>
    public static Metadata Read(IEnumerable<KeyValuePair<string, StringValues>> headers)
    {
        var metadata = new Metadata();
        foreach (var header in headers)
            TryAdd(metadata, header.Key, header.Value);
        return metadata;
    }

    /// <summary>Entries that may go on the wire: protocol headers cannot be overridden through metadata.</summary>
    public static IEnumerable<Metadata.Entry> Sendable(Metadata metadata) =>
        metadata.Where(e => !GrpcProtocol.IsReservedHeader(e.Key));

    public static Status InvalidBinaryHeader(string name) =>
        new(StatusCode.Internal, $"Metadata '{name}' is not valid base64.");
}
