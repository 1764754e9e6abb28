using Esp.Grpc.Protocol;
using Microsoft.AspNetCore.Http;

namespace Esp.Grpc.Server;

/// <summary>
/// Writing a status to an HTTP response: in the trailers when messages were sent, as a
/// Trailers-Only response (one HEADERS frame with END_STREAM) when nothing was.
/// </summary>
internal static class GrpcResponses
{
    /// <summary>Sets the headers of a Trailers-Only response; the caller then completes the response.</summary>
    public static void SetTrailersOnly(HttpResponse response, Status status, Metadata? trailers)
    {
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = GrpcProtocol.ContentType;
        var headers = response.Headers;
        headers[GrpcProtocol.AcceptEncodingHeader] = GrpcProtocol.SupportedEncodings;
        if (trailers is not null)
        {
            foreach (var entry in MetadataHeaders.Sendable(trailers))
                headers.Append(entry.Key, entry.Value);
        }
        headers[GrpcProtocol.StatusTrailer] = GrpcProtocol.ToTrailerString(status.Code);
        if (status.Detail.Length > 0)
            headers[GrpcProtocol.MessageTrailer] = PercentEncoding.Encode(status.Detail);
    }

    /// <summary>Appends the status and trailers after messages were sent.</summary>
    public static void AppendTrailers(HttpResponse response, Status status, Metadata? trailers)
    {
        if (trailers is not null)
        {
            foreach (var entry in MetadataHeaders.Sendable(trailers))
                response.AppendTrailer(entry.Key, entry.Value);
        }
        response.AppendTrailer(GrpcProtocol.StatusTrailer, GrpcProtocol.ToTrailerString(status.Code));
        if (status.Detail.Length > 0)
            response.AppendTrailer(GrpcProtocol.MessageTrailer, PercentEncoding.Encode(status.Detail));
    }

    /// <summary>
    /// A request that is not gRPC at all (wrong HTTP version, method or content type): a real HTTP
    /// error status, so generic HTTP clients do not read it as success, plus the gRPC status in
    /// headers for gRPC clients, plus the reason as text for people.
    /// </summary>
    public static Task WriteProtocolErrorAsync(HttpContext context, int httpStatus, Status status)
    {
        var response = context.Response;
        response.StatusCode = httpStatus;
        response.ContentType = "text/plain; charset=utf-8";
        response.Headers[GrpcProtocol.StatusTrailer] = GrpcProtocol.ToTrailerString(status.Code);
        response.Headers[GrpcProtocol.MessageTrailer] = PercentEncoding.Encode(status.Detail);
        return response.WriteAsync(status.Detail + "\n", context.RequestAborted);
    }
}
