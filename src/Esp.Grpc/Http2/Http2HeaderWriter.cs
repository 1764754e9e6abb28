using System.Buffers;
using Esp.Grpc.Http2.Hpack;

namespace Esp.Grpc.Http2;

/// <summary>Encodes a request's regular headers into the header block being built (under the connection's lock).</summary>
internal readonly struct Http2HeaderWriter
{
    private readonly HpackEncoder _encoder;
    private readonly IBufferWriter<byte> _output;

    internal Http2HeaderWriter(HpackEncoder encoder, IBufferWriter<byte> output)
    {
        _encoder = encoder;
        _output = output;
    }

    /// <param name="name">Lower case, as HTTP/2 requires.</param>
    /// <param name="indexing">
    /// <see cref="HpackIndexing.Index"/> for values that repeat across calls (they then cost an
    /// index byte); <see cref="HpackIndexing.NeverIndex"/> for credentials, so that no
    /// intermediary keeps them in a table.
    /// </param>
    public void Write(string name, string value, HpackIndexing indexing) => _encoder.Encode(_output, name, value, indexing);
}
