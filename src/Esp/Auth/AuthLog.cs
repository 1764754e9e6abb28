using Microsoft.Extensions.Logging;

namespace Esp.Auth;

/// <summary>Authentication's log lines. None of them carries a token, a key or a secret.</summary>
internal static partial class AuthLog
{
    [LoggerMessage(1, LogLevel.Information, "Provider {Provider}: keys from {Origin}", EventName = "KeySource")]
    public static partial void KeySource(ILogger logger, string provider, string origin);

    [LoggerMessage(2, LogLevel.Information, "Provider {Provider}: fetched {Count} keys from {Origin}", EventName = "KeysFetched")]
    public static partial void KeysFetched(ILogger logger, string provider, int count, string origin);

    [LoggerMessage(3, LogLevel.Warning, "Provider {Provider}: refreshing keys failed ({Problem}); still using the keys fetched before", EventName = "KeysStale")]
    public static partial void KeysStale(ILogger logger, string provider, string problem);

    [LoggerMessage(4, LogLevel.Warning, "Provider {Provider}: fetching keys failed ({Problem}); its tokens are refused until a fetch succeeds", EventName = "KeysFetchFailed")]
    public static partial void KeysFetchFailed(ILogger logger, string provider, string problem);

    [LoggerMessage(5, LogLevel.Warning, "Provider {Provider}: skipped {Count} keys that are malformed, too weak or not for signatures", EventName = "KeysSkipped")]
    public static partial void KeysSkipped(ILogger logger, string provider, int count);

    [LoggerMessage(6, LogLevel.Information, "{Method}: credentials refused: {StatusCode} {Reason}", EventName = "Refused")]
    public static partial void Refused(ILogger logger, string method, Esp.Grpc.StatusCode statusCode, string reason);
}
