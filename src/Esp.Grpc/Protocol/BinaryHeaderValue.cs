using System.Buffers.Text;

namespace Esp.Grpc.Protocol;

/// <summary>
/// Base64 for <c>-bin</c> metadata. The spec says: emit unpadded, accept padded and unpadded, and
/// split a joined header on ',' before decoding.
/// </summary>
internal static class BinaryHeaderValue
{
    public static string Encode(ReadOnlySpan<byte> value) => Convert.ToBase64String(value).TrimEnd('=');

    /// <summary>Decodes one value (no commas); false when it is not base64.</summary>
    public static bool TryDecode(string value, out byte[] bytes)
    {
        var text = value.Trim();
        var padding = (4 - (text.Length % 4)) % 4;
        if (padding == 3)
        {
            bytes = [];
            return false;
        }
        if (padding != 0)
            text = string.Concat(text, new string('=', padding));
        bytes = new byte[Base64.GetMaxDecodedFromUtf8Length(text.Length)];
        if (!Convert.TryFromBase64String(text, bytes, out var written))
        {
            bytes = [];
            return false;
        }
        if (written != bytes.Length)
            Array.Resize(ref bytes, written);
        return true;
    }
}
