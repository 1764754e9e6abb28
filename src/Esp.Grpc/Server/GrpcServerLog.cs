using Microsoft.Extensions.Logging;

namespace Esp.Grpc.Server;

internal static partial class GrpcServerLog
{
    [LoggerMessage(1, LogLevel.Error, "Handler of {Method} threw; the caller gets UNKNOWN.", EventName = "HandlerFailed")]
    public static partial void HandlerFailed(ILogger logger, string method, Exception exception);

    [LoggerMessage(2, LogLevel.Debug, "Call {Method} passed its deadline ({Timeout}).", EventName = "DeadlineExceeded")]
    public static partial void DeadlineExceeded(ILogger logger, string method, TimeSpan timeout);

    [LoggerMessage(3, LogLevel.Debug, "Call {Method} was cancelled by the caller.", EventName = "CallCancelled")]
    public static partial void CallCancelled(ILogger logger, string method);

    [LoggerMessage(4, LogLevel.Information, "Call {Method} rejected: {StatusCode} {Detail}", EventName = "CallRejected")]
    public static partial void CallRejected(ILogger logger, string method, StatusCode statusCode, string detail);

    [LoggerMessage(5, LogLevel.Debug, "Could not end call {Method}: the caller has gone.", EventName = "EndFailed")]
    public static partial void EndFailed(ILogger logger, string method, Exception exception);
}
