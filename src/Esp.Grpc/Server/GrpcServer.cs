using System.Collections.Frozen;
using Esp.Grpc.Protocol;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Esp.Grpc.Server;

/// <summary>Dispatches gRPC requests to the bound services' methods.</summary>
internal sealed class GrpcServer
{
    private readonly FrozenDictionary<string, IServerMethod> _methods;
    private readonly GrpcServerOptions _options;
    private readonly ILogger _logger;

    public GrpcServer(IEnumerable<GrpcServiceDefinition> services, GrpcServerOptions options, ILogger logger)
    {
        _methods = services.SelectMany(s => s.MethodsByPath).ToFrozenDictionary(StringComparer.Ordinal);
        _options = options;
        _logger = logger;
    }

    public Task HandleAsync(HttpContext context, RequestDelegate next)
    {
        var request = context.Request;
        var path = request.Path.Value ?? "";
        var known = _methods.TryGetValue(path, out var method);
        var isGrpc = GrpcProtocol.IsGrpcContentType(request.ContentType);
        if (!known && !isGrpc)
            return next(context);

        if (!HttpProtocol.IsHttp2(request.Protocol))
        {
            return GrpcResponses.WriteProtocolErrorAsync(context, StatusCodes.Status426UpgradeRequired,
                new Status(StatusCode.Internal, $"gRPC requires HTTP/2, but this request came over {request.Protocol}."));
        }
        if (!HttpMethods.IsPost(request.Method))
        {
            return GrpcResponses.WriteProtocolErrorAsync(context, StatusCodes.Status405MethodNotAllowed,
                new Status(StatusCode.Internal, $"gRPC requires POST, but this request is {request.Method}."));
        }
        if (!isGrpc)
        {
            return GrpcResponses.WriteProtocolErrorAsync(context, StatusCodes.Status415UnsupportedMediaType,
                new Status(StatusCode.Internal, $"Content-Type '{request.ContentType}' is not supported: gRPC requires application/grpc."));
        }

        return RunCallAsync(context, path, known ? method! : new MethodNotFound(path));
    }

    private async Task RunCallAsync(HttpContext context, string path, IServerMethod method)
    {
        using var call = new ServerCall(context, path, _options, _logger);
        await call.RunAsync(method);
    }

    private sealed class MethodNotFound(string path) : IServerMethod
    {
        public Task InvokeAsync(ServerCall call) =>
            throw new RpcException(new Status(StatusCode.Unimplemented, $"Method not found: {path}"));
    }
}

public static class GrpcServerApplicationBuilderExtensions
{
    /// <summary>
    /// Serves these services' methods. gRPC requests for other paths get UNIMPLEMENTED; other
    /// HTTP requests go on down the pipeline.
    /// </summary>
    public static IApplicationBuilder UseGrpcServices(this IApplicationBuilder app, GrpcServerOptions options, params GrpcServiceDefinition[] services)
    {
        ArgumentNullException.ThrowIfNull(app);
        ArgumentNullException.ThrowIfNull(options);
        var logger = app.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger("Esp.Grpc.Server");
        var server = new GrpcServer(services, options, logger);
        return app.Use(server.HandleAsync);
    }
}
