using System.Text.Json;
using Esp.Auth;
using Esp.Auth.Jwt;
using Esp.Config;
using Esp.Grpc;
using Esp.Grpc.Protocol;
using Esp.Grpc.Server;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Esp.Forwarding;

/// <summary>
/// Every request the listeners accept comes here: health checks are answered, spoofable
/// headers removed, the path routed to a configured method (unknown methods are never
/// forwarded), protocol mismatches answered clearly, and calls handed to the forwarder.
/// </summary>
internal sealed class ProxyRequestHandler(ServiceModel model, JwtAuthenticator authenticator, GrpcForwarder forwarder, string? healthzPath, ILogger logger)
{
    private readonly string? _healthzPath = healthzPath is null ? null : "/" + healthzPath.TrimStart('/');

    public Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var path = request.Path.Value ?? "";
        if (_healthzPath is not null && string.Equals(path, _healthzPath, StringComparison.Ordinal))
            return WriteHealthyAsync(context);

        // Only the proxy may tell the backend who called.
        request.Headers.Remove(ProxyHeaders.UserInfo);
        request.Headers.Remove(ProxyHeaders.ForwardedAuthorization);

        var isGrpc = GrpcProtocol.IsGrpcContentType(request.ContentType);
        if (!model.MethodsByPath.TryGetValue(path, out var method))
        {
            var notDefined = new Status(StatusCode.Unimplemented, $"The current request is not defined by this API: {path} is not a method of {model.Name}.");
            if (!isGrpc)
                return WriteJsonErrorAsync(context, StatusCodes.Status404NotFound, notDefined with { Code = StatusCode.NotFound });
            if (!HttpProtocol.IsHttp2(request.Protocol))
                return RequireHttp2Async(context);
            GrpcResponses.SetTrailersOnly(context.Response, notDefined, null);
            return context.Response.CompleteAsync();
        }
        if (!isGrpc)
        {
            return WriteJsonErrorAsync(context, StatusCodes.Status415UnsupportedMediaType, new Status(StatusCode.InvalidArgument,
                $"{method.Selector} is a gRPC method: send it as application/grpc over HTTP/2 (HTTP/JSON transcoding is not supported yet)."));
        }
        if (!HttpProtocol.IsHttp2(request.Protocol))
            return RequireHttp2Async(context);
        if (!HttpMethods.IsPost(request.Method))
        {
            return GrpcResponses.WriteProtocolErrorAsync(context, StatusCodes.Status405MethodNotAllowed,
                new Status(StatusCode.Internal, $"gRPC requires POST, but this request is {request.Method}."));
        }
        if (method.Auth is null)
            return AdmitAsync(context, method, null);
        // JWTs first (ESP's order), then API keys, then the backend. A token from the cache is
        // checked synchronously: no extra async frame per call then.
        var pending = authenticator.AuthenticateAsync(context.Request, method, model.Providers, context.RequestAborted);
        return pending.IsCompletedSuccessfully ? Authenticated(context, method, pending.Result) : AuthenticatedAsync(context, method, pending);
    }

    private async Task AuthenticatedAsync(HttpContext context, MethodPolicy method, ValueTask<AuthResult> pending) =>
        await Authenticated(context, method, await pending);

    private Task Authenticated(HttpContext context, MethodPolicy method, AuthResult result)
    {
        if (result.Failure is { } failure)
        {
            AuthLog.Refused(logger, method.Path, failure.Code, failure.Reason);
            return RefuseAsync(context, failure.ToStatus());
        }
        return AdmitAsync(context, method, result.Identity);
    }

    private Task AdmitAsync(HttpContext context, MethodPolicy method, JwtToken? identity)
    {
        if (CallAdmission.Check(context.Request, method) is { } refused)
            return RefuseAsync(context, refused);
        var userInfo = identity is null ? null : identity.UserInfo ??= UserInfoHeader.Create(identity, authenticator.UserInfoFormat);
        return forwarder.ForwardAsync(context, method, userInfo);
    }

    private static Task RefuseAsync(HttpContext context, Status status)
    {
        GrpcResponses.SetTrailersOnly(context.Response, status, null);
        return context.Response.CompleteAsync();
    }

    private static Task RequireHttp2Async(HttpContext context) =>
        GrpcResponses.WriteProtocolErrorAsync(context, StatusCodes.Status426UpgradeRequired, new Status(StatusCode.Internal,
            $"gRPC requires HTTP/2, but this call came over {context.Request.Protocol}: call the proxy's --http2_port (h2c) or --ssl_port (TLS) listener."));

    private static Task WriteHealthyAsync(HttpContext context)
    {
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync("ok\n", context.RequestAborted);
    }

    /// <summary>HTTP callers get ESP's JSON error body: <c>{"code": N, "message": "..."}</c>.</summary>
    internal static Task WriteJsonErrorAsync(HttpContext context, int httpStatus, Status status)
    {
        var response = context.Response;
        response.StatusCode = httpStatus;
        response.ContentType = "application/json";
        var body = JsonSerializer.SerializeToUtf8Bytes(new JsonError((int)status.Code, status.Detail), JsonErrorContext.Default.JsonError);
        return response.Body.WriteAsync(body, context.RequestAborted).AsTask();
    }
}

internal sealed record JsonError(int Code, string Message);

[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.CamelCase)]
[System.Text.Json.Serialization.JsonSerializable(typeof(JsonError))]
internal sealed partial class JsonErrorContext : System.Text.Json.Serialization.JsonSerializerContext;
