using System.IO.Pipelines;
using Google.Protobuf;

namespace Esp.Grpc.Protocol;

/// <summary>Reads messages off a <see cref="PipeReader"/> (the server's request body, the client's response body).</summary>
internal static class PipeMessageReader
{
    /// <summary>The next message, or null at a clean end of stream.</summary>
    /// <exception cref="RpcException">A malformed, oversize or truncated frame.</exception>
    public static async ValueTask<T?> ReadMessageAsync<T>(PipeReader input, MessageParser<T> parser, string? encoding, int maxMessageSize, CancellationToken cancellationToken)
        where T : class, IMessage<T>
    {
        while (true)
        {
            var result = await input.ReadAsync(cancellationToken);
            var buffer = result.Buffer;
            var consumed = false;
            try
            {
                if (result.IsCanceled)
                    throw new OperationCanceledException("The read was cancelled.");

                if (MessageFraming.TryReadFrame(ref buffer, maxMessageSize, out var compressed, out var body))
                {
                    consumed = true;
                    return MessageSerializer.Deserialize(parser, body, compressed, encoding, maxMessageSize);
                }

                if (result.IsCompleted)
                {
                    if (buffer.Length == 0)
                        return null;
                    throw new RpcException(MessageFraming.IncompleteMessageStatus);
                }
            }
            finally
            {
                // A whole message consumed: advance past it. Otherwise mark everything examined,
                // so the next ReadAsync waits for more data instead of returning the same bytes.
                if (consumed)
                    input.AdvanceTo(buffer.Start);
                else
                    input.AdvanceTo(buffer.Start, buffer.End);
            }
        }
    }
}
