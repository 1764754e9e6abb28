using System.Text;

namespace Esp.Grpc.Http2;

/// <summary>
/// Strings for the header names and values every gRPC request or response carries, so decoding them does
/// not allocate; anything else is decoded as Latin-1 (every byte kept as it came).
/// </summary>
internal static class KnownHeaders
{
    private static readonly string[] Names =
    [
        "content-type", "grpc-status", "grpc-message", "grpc-encoding", "grpc-accept-encoding",
        "grpc-status-details-bin", "date", "server", "content-length",
        "te", "user-agent", "grpc-timeout", "authorization", "cookie", "x-api-key",
    ];

    private static readonly string[] Values =
    [
        "application/grpc", "application/grpc+proto", "0", "identity", "gzip", "identity,gzip", "identity, gzip", "deflate,gzip",
        "identity,deflate,gzip", "", "trailers",
    ];

    private static readonly byte[][] NameBytes = [.. Names.Select(Encoding.Latin1.GetBytes)];
    private static readonly byte[][] ValueBytes = [.. Values.Select(Encoding.Latin1.GetBytes)];

    public static string Name(ReadOnlySpan<byte> name) => Find(name, NameBytes, Names);

    public static string Value(ReadOnlySpan<byte> value) => Find(value, ValueBytes, Values);

    private static string Find(ReadOnlySpan<byte> bytes, byte[][] known, string[] strings)
    {
        for (var i = 0; i < known.Length; i++)
        {
            if (bytes.SequenceEqual(known[i]))
                return strings[i];
        }
        return Encoding.Latin1.GetString(bytes);
    }
}
