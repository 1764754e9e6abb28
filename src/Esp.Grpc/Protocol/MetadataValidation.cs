namespace Esp.Grpc.Protocol;

/// <summary>The character rules for metadata keys and ASCII values (PROTOCOL-HTTP2.md "Custom-Metadata").</summary>
internal static class MetadataValidation
{
    public static bool IsValidKey(string key)
    {
        if (key.Length == 0)
            return false;
        foreach (var c in key)
        {
            if (c is not ((>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '_' or '.'))
                return false;
        }
        return true;
    }

    public static bool IsValidAsciiValue(string value)
    {
        foreach (var c in value)
        {
            if (c is < '\x20' or > '\x7E')
                return false;
        }
        return true;
    }
}
