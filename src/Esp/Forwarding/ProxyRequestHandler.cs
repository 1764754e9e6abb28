using Esp.ApiKeys;
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
internal sealed class ProxyRequestHandler(ServiceModel model, JwtAuthenticator authenticator, ApiKeyChecker apiKeys, GrpcForwarder forwarder, string? healthzPath, ILogger logger)
{
    private readonly string? _healthzPath = healthzPath is null ? null : "/" + healthzPath.TrimStart('/');

    public Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var path = request.Path.Value ?? "";
        if (_healthzPath is not null && string.Equals(path, _healthzPath, StringComparison.Ordinal))
            return WriteHealthyAsync(context);

        // Only the proxy may tell the backend who called.
        ProxyHeaders.RemoveProxyOwned(request.Headers);

        var isGrpc = GrpcProtocol.IsGrpcContentType(request.ContentType);
        if (!model.MethodsByPath.TryGetValue(path, out var method))
        {
            var notDefined = new Status(StatusCode.Unimplemented, $"The current request is not defined by this API: {path} is not a method of {model.Name}.");
            if (!isGrpc)
                return new CallRefusal(notDefined with { Code = StatusCode.NotFound }, RefusalSource.Internal).WriteAsync(context, grpc: false);
            if (!HttpProtocol.IsHttp2(request.Protocol))
                return RequireHttp2Async(context);
            return new CallRefusal(notDefined, RefusalSource.Internal).WriteAsync(context, grpc: true);
        }
        if (isGrpc)
        {
            if (!HttpProtocol.IsHttp2(request.Protocol))
                return RequireHttp2Async(context);
            if (!HttpMethods.IsPost(request.Method))
            {
                return GrpcResponses.WriteProtocolErrorAsync(context, StatusCodes.Status405MethodNotAllowed,
                    new Status(StatusCode.Internal, $"gRPC requires POST, but this request is {request.Method}."));
            }
        }
        // HTTP callers are checked too, so that they learn about their credentials (401, 403, 400)
        // before being told the method only speaks gRPC.
        if (method.Auth is null)
            return AdmitAsync(context, method, isGrpc, null);
        // JWTs first (ESP's order), then API keys, then the backend. A token from the cache is
        // checked synchronously: no extra async frame per call then.
        var pending = authenticator.AuthenticateAsync(context.Request, method, context.RequestAborted);
        return pending.IsCompletedSuccessfully ? Authenticated(context, method, isGrpc, pending.Result) : AuthenticatedAsync(context, method, isGrpc, pending);
    }

    private async Task AuthenticatedAsync(HttpContext context, MethodPolicy method, bool isGrpc, ValueTask<AuthResult> pending) =>
        await Authenticated(context, method, isGrpc, await pending);

    private Task Authenticated(HttpContext context, MethodPolicy method, bool isGrpc, AuthResult result)
    {
        if (result.Failure is { } failure)
        {
            AuthLog.Refused(logger, method.Path, failure.Code, failure.Reason);
            // RFC 6750 §3: no error code when the request carried no credential at all.
            var challenge = failure == AuthFailure.Missing ? "Bearer" : "Bearer error=\"invalid_token\"";
            return new CallRefusal(failure.ToStatus(), RefusalSource.Auth, challenge).WriteAsync(context, isGrpc);
        }
        return AdmitAsync(context, method, isGrpc, result.Identity);
    }

    private Task AdmitAsync(HttpContext context, MethodPolicy method, bool isGrpc, JwtToken? identity)
    {
        var apiKey = apiKeys.Check(context.Request, method);
        if (apiKey.Refusal is { } refused)
            return new CallRefusal(refused, RefusalSource.ServiceControl).WriteAsync(context, isGrpc);
        if (!isGrpc)
        {
            return new CallRefusal(new Status(StatusCode.InvalidArgument,
                $"{method.Selector} is a gRPC method: send it as application/grpc over HTTP/2 (HTTP/JSON transcoding is not supported yet)."),
                RefusalSource.Internal).WriteAsync(context, grpc: false, StatusCodes.Status415UnsupportedMediaType);
        }
        var userInfo = identity is null ? null : identity.UserInfo ??= UserInfoHeader.Create(identity, authenticator.UserInfoFormat);
        return forwarder.ForwardAsync(context, method, new CallerIdentity(userInfo, apiKey.Key));
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
}
