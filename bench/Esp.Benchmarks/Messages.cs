using Endpoints.Examples.Bookstore;
using Esp.Grpc.Protocol;
using Google.Protobuf;

namespace Esp.Benchmarks;

/// <summary>The messages the benchmarks frame, parse and serialize: the Bookstore's.</summary>
internal static class Messages
{
    public const int MaxMessageSize = 4 * 1024 * 1024;

    /// <summary>What ListShelves returns for the sample store: 26 bytes (a 31-byte frame).</summary>
    public static ListShelvesResponse ListShelvesResponse() => new()
    {
        Shelves =
        {
            new Shelf { Id = 1, Theme = "Fiction" },
            new Shelf { Id = 2, Theme = "Fantasy" },
        },
    };

    /// <summary>A response with <paramref name="count"/> shelves (about 13 bytes each).</summary>
    public static ListShelvesResponse ManyShelves(int count)
    {
        var response = new ListShelvesResponse();
        for (var i = 0; i < count; i++)
            response.Shelves.Add(new Shelf { Id = i, Theme = "Shelf " + i.ToString("D5", System.Globalization.CultureInfo.InvariantCulture) });
        return response;
    }

    /// <summary>A whole uncompressed frame: header and body.</summary>
    public static byte[] Frame(IMessage message)
    {
        var body = message.ToByteArray();
        var frame = new byte[MessageFraming.HeaderSize + body.Length];
        MessageFraming.WriteHeader(frame, compressed: false, body.Length);
        body.CopyTo(frame, MessageFraming.HeaderSize);
        return frame;
    }
}
