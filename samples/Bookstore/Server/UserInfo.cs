using System.Text;

namespace Bookstore.Server;

/// <summary>The header through which the proxy tells the backend who called.</summary>
internal static class UserInfo
{
    public const string HeaderName = "x-endpoint-api-userinfo";

    /// <summary>The header's JSON (it is base64url, padded or not); the raw value when it does not decode.</summary>
    public static string Decode(string value)
    {
        var text = value.Trim().Replace('-', '+').Replace('_', '/');
        text = text.PadRight(text.Length + ((4 - (text.Length % 4)) % 4), '=');
        try
        {
            return Encoding.UTF8.GetString(Convert.FromBase64String(text));
        }
        catch (FormatException)
        {
            return $"(not base64url) {value}";
        }
    }
}
