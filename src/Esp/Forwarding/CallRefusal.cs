using System.Text.Json;
using Esp.Grpc;
using Esp.Grpc.Server;
using Microsoft.AspNetCore.Http;

namespace Esp.Forwarding;

/// <summary>Which part of the proxy refused a call: ESP's <c>google.rpc.DebugInfo</c> detail in the JSON error body.</summary>
internal enum RefusalSource
{
    /// <summary>JWT authentication.</summary>
    Auth,

    /// <summary>API keys (Service Control, in ESP).</summary>
    ServiceControl,

    /// <summary>Routing and protocol problems.</summary>
    Internal,
}

/// <summary>
/// A call the proxy answers itself instead of forwarding it. gRPC callers get a Trailers-Only response;
/// HTTP callers get ESP's answer: the HTTP status of the code, <c>WWW-Authenticate</c> for JWT failures, and a
/// JSON <c>google.rpc.Status</c> body.
/// </summary>
/// <param name="WwwAuthenticate">The challenge for HTTP callers (RFC 6750), for credential failures.</param>
internal readonly record struct CallRefusal(Status Status, RefusalSource Source, string? WwwAuthenticate = null)
{
    /// <param name="httpStatus">For HTTP callers, a status other than the code's.</param>
    // Messages are plain text for people: no \u0027 for an apostrophe (the body is never embedded in HTML).
    private static readonly JsonWriterOptions ReadableJson = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public Task WriteAsync(HttpContext context, bool grpc, int? httpStatus = null)
    {
        if (grpc)
        {
            GrpcResponses.SetTrailersOnly(context.Response, Status, null);
            return context.Response.CompleteAsync();
        }
        return WriteJsonAsync(context, httpStatus ?? HttpStatusOf(Status.Code));
    }

    /// <summary><c>{"code": 16, "message": "...", "details": [{"@type": "type.googleapis.com/google.rpc.DebugInfo", ...}]}</c>.</summary>
    private Task WriteJsonAsync(HttpContext context, int httpStatus)
    {
        var response = context.Response;
        response.StatusCode = httpStatus;
        response.ContentType = "application/json";
        if (WwwAuthenticate is not null)
            response.Headers.WWWAuthenticate = WwwAuthenticate;

        var body = new System.Buffers.ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(body, ReadableJson))
        {
            json.WriteStartObject();
            json.WriteNumber("code", (int)Status.Code);
            json.WriteString("message", Status.Detail);
            json.WriteStartArray("details");
            json.WriteStartObject();
            json.WriteString("@type", "type.googleapis.com/google.rpc.DebugInfo");
            json.WriteStartArray("stackEntries");
            json.WriteEndArray();
            json.WriteString("detail", Source switch
            {
                RefusalSource.Auth => "auth",
                RefusalSource.ServiceControl => "service_control",
                _ => "internal",
            });
            json.WriteEndObject();
            json.WriteEndArray();
            json.WriteEndObject();
        }
        return response.Body.WriteAsync(body.WrittenMemory, context.RequestAborted).AsTask();
    }

    /// <summary>The HTTP status ESP answers a code with (ESPv1 <c>utils/status.cc</c>).</summary>
    public static int HttpStatusOf(StatusCode code) => code switch
    {
        StatusCode.OK => 200,
        StatusCode.Cancelled => 499,
        StatusCode.InvalidArgument or StatusCode.FailedPrecondition or StatusCode.OutOfRange => 400,
        StatusCode.DeadlineExceeded => 504,
        StatusCode.NotFound => 404,
        StatusCode.AlreadyExists or StatusCode.Aborted => 409,
        StatusCode.PermissionDenied => 403,
        StatusCode.ResourceExhausted => 429,
        StatusCode.Unimplemented => 501,
        StatusCode.Unavailable => 503,
        StatusCode.Unauthenticated => 401,
        _ => 500,
    };
}
