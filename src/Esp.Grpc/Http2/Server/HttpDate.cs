using System.Globalization;

namespace Esp.Grpc.Http2.Server;

/// <summary>The Date header's value (RFC 9110 §5.6.7, IMF-fixdate), formatted once per second.</summary>
internal static class HttpDate
{
    private static Stamp s_current = new(long.MinValue, "");

    public static string Now(TimeProvider time)
    {
        var now = time.GetUtcNow();
        var second = now.ToUnixTimeSeconds();
        var current = s_current;
        if (current.Second == second)
            return current.Text;
        var text = now.ToString("r", CultureInfo.InvariantCulture);
        s_current = new Stamp(second, text); // one reference: a reader sees an old stamp or the new one, never half of each
        return text;
    }

    private sealed record Stamp(long Second, string Text);
}
