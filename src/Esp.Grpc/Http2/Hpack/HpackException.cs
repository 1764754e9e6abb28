namespace Esp.Grpc.Http2.Hpack;

/// <summary>
/// A malformed header block (RFC 7541): in HTTP/2 terms a connection error of type
/// COMPRESSION_ERROR, since the peer's dynamic table and ours can no longer be trusted to agree.
/// </summary>
internal sealed class HpackException : Exception
{
    public HpackException()
    {
    }

    public HpackException(string message)
        : base(message)
    {
    }

    public HpackException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
