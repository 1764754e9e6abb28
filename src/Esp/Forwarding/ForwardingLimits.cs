namespace Esp.Forwarding;

/// <summary>Bounds the forwarder puts on callers.</summary>
/// <param name="RequestMessageTimeout">
/// How long a call with one request message (unary, server streaming) may go without any part of
/// it arriving before it ends with DEADLINE_EXCEEDED, never reaching the backend.
/// </param>
internal sealed record ForwardingLimits(TimeSpan RequestMessageTimeout);
